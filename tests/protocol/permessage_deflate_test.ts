import { assertEquals, assertThrows } from "@std/assert";
import { UpgradeFailedError } from "../../src/protocol/errors.ts";
import { type ExtensionHeader, parseExtensions } from "../../src/protocol/extensions.ts";
import {
  acceptDeflateOffer,
  acceptDeflateResponse,
  deflateOffer,
  type DeflateOptions,
  type DeflateParameters,
  deflateSettings,
} from "../../src/protocol/permessage_deflate.ts";

/** The parameters agreed on a server's and a client's window, with context takeover unless said. */
function agreed(
  serverMaxWindowBits: number,
  clientMaxWindowBits: number,
  noContextTakeover: Partial<DeflateParameters> = {},
): DeflateParameters {
  return {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits,
    clientMaxWindowBits,
    ...noContextTakeover,
  };
}

const NO_SERVER_CONTEXT = { serverNoContextTakeover: true };
const NO_CLIENT_CONTEXT = { clientNoContextTakeover: true };
const NO_CONTEXT = { ...NO_SERVER_CONTEXT, ...NO_CLIENT_CONTEXT };

/** Settings that limit both windows to 12 bits, under the default of 15. */
const WINDOWS_12 = { serverMaxWindowBits: 12, clientMaxWindowBits: 12 };

const CHROME = "permessage-deflate; client_max_window_bits";
const FIREFOX = "permessage-deflate";
const PYTHON_WEBSOCKETS =
  "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12";
const WS = "permessage-deflate; client_max_window_bits";

interface Negotiation {
  name: string;
  /** The client's `Sec-WebSocket-Extensions`, or extensions the grammar cannot produce. */
  offer: string | ExtensionHeader[];
  settings?: DeflateOptions;
  /** The server's `Sec-WebSocket-Extensions` and what it agreed, or null when it declines. */
  accepted: [response: string, parameters: DeflateParameters] | null;
}

const NEGOTIATIONS: Negotiation[] = [
  {
    name: "Chrome's offer, keeping no server context and leaving both windows at 15",
    offer: CHROME,
    accepted: [
      "permessage-deflate; server_no_context_takeover; client_max_window_bits=15",
      agreed(15, 15, NO_SERVER_CONTEXT),
    ],
  },
  {
    name: "Chrome's offer, limiting both windows to 12 when the server asks so",
    offer: CHROME,
    settings: WINDOWS_12,
    accepted: [
      "permessage-deflate; server_no_context_takeover; server_max_window_bits=12; " +
      "client_max_window_bits=12",
      agreed(12, 12, NO_SERVER_CONTEXT),
    ],
  },
  {
    name: "Firefox's offer, keeping no server context",
    offer: FIREFOX,
    accepted: ["permessage-deflate; server_no_context_takeover", agreed(15, 15, NO_SERVER_CONTEXT)],
  },
  {
    name: "Firefox's offer, leaving its window at 15 when the server would limit it to 12",
    offer: FIREFOX,
    settings: WINDOWS_12,
    accepted: [
      "permessage-deflate; server_no_context_takeover; server_max_window_bits=12",
      agreed(12, 15, NO_SERVER_CONTEXT),
    ],
  },
  {
    name: "python-websockets' offer",
    offer: PYTHON_WEBSOCKETS,
    accepted: [
      "permessage-deflate; server_no_context_takeover; server_max_window_bits=12; " +
      "client_max_window_bits=12",
      agreed(12, 12, NO_SERVER_CONTEXT),
    ],
  },
  {
    name: "python-websockets' offer as it is when the server keeps context",
    offer: PYTHON_WEBSOCKETS,
    settings: { serverNoContextTakeover: false },
    accepted: [PYTHON_WEBSOCKETS, agreed(12, 12)],
  },
  {
    name: "ws's offer",
    offer: WS,
    accepted: [
      "permessage-deflate; server_no_context_takeover; client_max_window_bits=15",
      agreed(15, 15, NO_SERVER_CONTEXT),
    ],
  },
  {
    name: "an offer after an unknown extension",
    offer: "x-webkit-deflate-frame; no_context_takeover, permessage-deflate",
    accepted: ["permessage-deflate; server_no_context_takeover", agreed(15, 15, NO_SERVER_CONTEXT)],
  },
  {
    name: "the second offer when the first is invalid",
    offer: "permessage-deflate; foo, permessage-deflate; client_max_window_bits=10",
    accepted: [
      "permessage-deflate; server_no_context_takeover; client_max_window_bits=10",
      agreed(15, 10, NO_SERVER_CONTEXT),
    ],
  },
  {
    name: "the first of two acceptable offers",
    offer: "permessage-deflate; client_max_window_bits=9, permessage-deflate",
    accepted: [
      "permessage-deflate; server_no_context_takeover; client_max_window_bits=9",
      agreed(15, 9, NO_SERVER_CONTEXT),
    ],
  },
  {
    name: "an offer with all four parameters",
    offer: "permessage-deflate; server_no_context_takeover; client_no_context_takeover; " +
      "server_max_window_bits=10; client_max_window_bits=11",
    accepted: [
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; " +
      "server_max_window_bits=10; client_max_window_bits=11",
      agreed(10, 11, NO_CONTEXT),
    ],
  },
  {
    name: "an offer's parameters in RFC 7692's order",
    offer: "permessage-deflate; client_max_window_bits=9; server_max_window_bits=15; " +
      "client_no_context_takeover",
    accepted: [
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; " +
      "server_max_window_bits=15; client_max_window_bits=9",
      agreed(15, 9, NO_CONTEXT),
    ],
  },
  {
    name: "an offer's parameters in RFC 7692's order, with the server's limit",
    offer: "permessage-deflate; client_max_window_bits=9; server_max_window_bits=15; " +
      "client_no_context_takeover",
    settings: { serverNoContextTakeover: false, serverMaxWindowBits: 12 },
    accepted: [
      "permessage-deflate; client_no_context_takeover; server_max_window_bits=12; " +
      "client_max_window_bits=9",
      agreed(12, 9, NO_CLIENT_CONTEXT),
    ],
  },
  {
    name: "quoted window sizes",
    offer: 'permessage-deflate; server_max_window_bits="10"; client_max_window_bits="9"',
    accepted: [
      "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; " +
      "client_max_window_bits=9",
      agreed(10, 9, NO_SERVER_CONTEXT),
    ],
  },
  {
    name: "a client window of 8, which it may keep",
    offer: "permessage-deflate; client_max_window_bits=8",
    accepted: [
      "permessage-deflate; server_no_context_takeover; client_max_window_bits=8",
      agreed(15, 8, NO_SERVER_CONTEXT),
    ],
  },
  {
    name: "server_max_window_bits=8 with null",
    offer: "permessage-deflate; server_max_window_bits=8",
    accepted: null,
  },
  {
    name: "the offer after server_max_window_bits=8",
    offer:
      "permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=9",
    accepted: [
      "permessage-deflate; server_no_context_takeover; server_max_window_bits=9",
      agreed(9, 15, NO_SERVER_CONTEXT),
    ],
  },
  ...[
    "client_max_window_bits; client_max_window_bits",
    "client_max_window_bits=10; client_max_window_bits=10",
    "server_max_window_bits=10; server_max_window_bits=10",
    "server_no_context_takeover; server_no_context_takeover",
    "client_no_context_takeover; client_no_context_takeover",
  ].map((params) => ({
    name: `a duplicate (${params}) with null`,
    offer: `permessage-deflate; ${params}`,
    accepted: null,
  })),
  ...["0", "7", "16", "08", "010", "abc", "-9", "1e1", "+9"].flatMap((value) =>
    ["server_max_window_bits", "client_max_window_bits"].map((name) => ({
      name: `${name}=${value} with null`,
      offer: `permessage-deflate; ${name}=${value}`,
      accepted: null,
    }))
  ),
  ...["server_max_window_bits", "client_max_window_bits"].map((name) => ({
    name: `an empty ${name} with null`,
    offer: [{ name: "permessage-deflate", params: [[name, ""]] }] satisfies ExtensionHeader[],
    accepted: null,
  })),
  {
    name: "server_max_window_bits without a value with null",
    offer: "permessage-deflate; server_max_window_bits",
    accepted: null,
  },
  {
    name: "a value on server_no_context_takeover with null",
    offer: "permessage-deflate; server_no_context_takeover=1",
    accepted: null,
  },
  {
    name: "a quoted value on client_no_context_takeover with null",
    offer: 'permessage-deflate; client_no_context_takeover="true"',
    accepted: null,
  },
  { name: "an unknown parameter with null", offer: "permessage-deflate; x", accepted: null },
  {
    name: "a parameter in another case with null",
    offer: "permessage-deflate; Client_Max_Window_Bits",
    accepted: null,
  },
  { name: "the extension in another case with null", offer: "Permessage-Deflate", accepted: null },
  { name: "other extensions only with null", offer: "x-foo, x-bar; a=1", accepted: null },
  { name: "no offer with null", offer: "", accepted: null },
  {
    name: "Chrome's offer, adding server_no_context_takeover when the server keeps no context",
    offer: CHROME,
    settings: { serverNoContextTakeover: true },
    accepted: [
      "permessage-deflate; server_no_context_takeover; client_max_window_bits=15",
      agreed(15, 15, NO_SERVER_CONTEXT),
    ],
  },
  {
    name: "Chrome's offer, without server_no_context_takeover when the server keeps context",
    offer: CHROME,
    settings: { serverNoContextTakeover: false },
    accepted: ["permessage-deflate; client_max_window_bits=15", agreed(15, 15)],
  },
  {
    name: "Firefox's offer, telling it to keep no context when the server asks so",
    offer: FIREFOX,
    settings: { clientNoContextTakeover: true },
    accepted: [
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
      agreed(15, 15, NO_CONTEXT),
    ],
  },
  {
    name: "an offer without context takeover when the server asks so",
    offer: "permessage-deflate; client_no_context_takeover; server_no_context_takeover",
    settings: { serverNoContextTakeover: false, clientNoContextTakeover: true },
    accepted: [
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
      agreed(15, 15, NO_CONTEXT),
    ],
  },
  {
    name:
      "Firefox's offer with no parameter when both windows may be 15 and the server keeps context",
    offer: FIREFOX,
    settings: { serverNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
    accepted: ["permessage-deflate", agreed(15, 15)],
  },
  {
    name: "Chrome's offer, naming the client's window 15 when it may be",
    offer: CHROME,
    settings: { serverNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
    accepted: ["permessage-deflate; client_max_window_bits=15", agreed(15, 15)],
  },
  {
    name: "python-websockets' offer, lowered to windows of 9",
    offer: PYTHON_WEBSOCKETS,
    settings: { serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
    accepted: [
      "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; " +
      "client_max_window_bits=9",
      agreed(9, 9, NO_SERVER_CONTEXT),
    ],
  },
  {
    name: "an offered server window under the server's own",
    offer: "permessage-deflate; server_max_window_bits=10",
    settings: { serverMaxWindowBits: 15 },
    accepted: [
      "permessage-deflate; server_no_context_takeover; server_max_window_bits=10",
      agreed(10, 15, NO_SERVER_CONTEXT),
    ],
  },
  {
    name: "an offered client window under the server's own",
    offer: "permessage-deflate; client_max_window_bits=11",
    settings: { clientMaxWindowBits: 13 },
    accepted: [
      "permessage-deflate; server_no_context_takeover; client_max_window_bits=11",
      agreed(15, 11, NO_SERVER_CONTEXT),
    ],
  },
];

for (const { name, offer, settings, accepted } of NEGOTIATIONS) {
  Deno.test(`permessage-deflate: a server answers ${name}`, () => {
    const offers = typeof offer === "string" ? parseExtensions(offer) : offer;
    const answer = acceptDeflateOffer(offers, deflateSettings(settings));
    assertEquals(
      answer,
      accepted === null ? null : { response: accepted[0], parameters: accepted[1] },
    );
  });
}

const OFFERS: [settings: DeflateOptions, offer: string][] = [
  [{}, "permessage-deflate; client_max_window_bits"],
  [WINDOWS_12, "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"],
  [
    { serverNoContextTakeover: true },
    "permessage-deflate; server_no_context_takeover; client_max_window_bits",
  ],
  [
    { serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
    "permessage-deflate; client_max_window_bits",
  ],
  [
    { serverMaxWindowBits: 15, clientMaxWindowBits: 9 },
    "permessage-deflate; client_max_window_bits=9",
  ],
  [
    {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 15,
    },
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; " +
    "server_max_window_bits=10; client_max_window_bits",
  ],
];

for (const [settings, offer] of OFFERS) {
  Deno.test(`permessage-deflate: a client with ${JSON.stringify(settings)} offers ${offer}`, () => {
    assertEquals(deflateOffer(deflateSettings(settings, "client")), offer);
  });
}

const RESPONSES: [settings: DeflateOptions, response: string, parameters: DeflateParameters][] = [
  [
    {},
    "permessage-deflate; server_no_context_takeover; client_max_window_bits=15",
    agreed(15, 15, NO_SERVER_CONTEXT),
  ],
  [
    {},
    "permessage-deflate; client_no_context_takeover; server_no_context_takeover",
    agreed(15, 15, NO_CONTEXT),
  ],
  [{}, "permessage-deflate", agreed(15, 15)],
  [{}, "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12", agreed(12, 12)],
  [
    WINDOWS_12,
    "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
    agreed(12, 12),
  ],
  [{}, "permessage-deflate; server_max_window_bits=9", agreed(9, 15)],
  [{}, "permessage-deflate; server_max_window_bits=8", agreed(8, 15)],
  [{}, 'permessage-deflate; server_max_window_bits="12"', agreed(12, 15)],
  [
    {},
    "permessage-deflate; client_max_window_bits=9; server_max_window_bits=10; " +
    "client_no_context_takeover; server_no_context_takeover",
    agreed(10, 9, NO_CONTEXT),
  ],
  [{ serverMaxWindowBits: 15, clientMaxWindowBits: 15 }, "permessage-deflate", agreed(15, 15)],
  [
    { serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
    "permessage-deflate; server_max_window_bits=15; client_max_window_bits=15",
    agreed(15, 15),
  ],
  [
    { serverNoContextTakeover: true, clientNoContextTakeover: true },
    "permessage-deflate; server_no_context_takeover; server_max_window_bits=12",
    agreed(12, 15, NO_CONTEXT),
  ],
];

for (const [settings, response, parameters] of RESPONSES) {
  Deno.test(`permessage-deflate: a client with ${JSON.stringify(settings)} accepts ${response}`, () => {
    assertEquals(
      acceptDeflateResponse(parseExtensions(response), deflateSettings(settings, "client")),
      parameters,
    );
  });
}

const BAD_RESPONSES: [settings: DeflateOptions, response: string, message: string][] = [
  [{}, "", "the server's Sec-WebSocket-Extensions names no extension"],
  [{}, "x-foo", "the server chose the extension x-foo, not offered"],
  [{}, "permessage-deflate; server_max_window_bits=12, x-foo", "the extension x-foo, not offered"],
  [
    {},
    "permessage-deflate; server_max_window_bits=12, permessage-deflate; server_max_window_bits=12",
    "the server chose permessage-deflate 2 times, not once",
  ],
  [{}, "permessage-deflate; server_max_window_bits=12; x", "invalid: unknown parameter x"],
  [
    {},
    "permessage-deflate; server_max_window_bits=12; server_no_context_takeover; server_no_context_takeover",
    "invalid: server_no_context_takeover is given twice",
  ],
  [
    {},
    "permessage-deflate; server_max_window_bits=12; client_no_context_takeover=1",
    "invalid: client_no_context_takeover has a value",
  ],
  ...["16", "7", "0", "09", "abc"].map((value): [DeflateOptions, string, string] => [
    { serverMaxWindowBits: 15 },
    `permessage-deflate; server_max_window_bits=${value}`,
    `invalid: server_max_window_bits=${value} is not a window size from 8 to 15`,
  ]),
  [
    {},
    "permessage-deflate; server_max_window_bits",
    "invalid: server_max_window_bits has no value",
  ],
  [
    {},
    "permessage-deflate; server_max_window_bits=12; client_max_window_bits",
    "invalid: client_max_window_bits has no value",
  ],
  [
    { serverMaxWindowBits: 12 },
    "permessage-deflate; server_max_window_bits=13",
    "sets server_max_window_bits=13, over the 12 offered",
  ],
  [{ serverMaxWindowBits: 12 }, "permessage-deflate", "leaves out server_max_window_bits, offered"],
  [
    { clientMaxWindowBits: 12 },
    "permessage-deflate; server_max_window_bits=12; client_max_window_bits=13",
    "sets client_max_window_bits=13, over the 12 offered",
  ],
  [
    { clientMaxWindowBits: 15 },
    "permessage-deflate; server_max_window_bits=12; client_max_window_bits=8",
    "sets client_max_window_bits=8, a window zlib cannot compress within",
  ],
  [
    { serverNoContextTakeover: true },
    "permessage-deflate; server_max_window_bits=12",
    "leaves out server_no_context_takeover, offered",
  ],
  [
    { serverNoContextTakeover: true },
    "permessage-deflate; client_max_window_bits=15",
    "leaves out server_no_context_takeover, offered",
  ],
];

for (const [settings, response, message] of BAD_RESPONSES) {
  Deno.test(`permessage-deflate: a client with ${JSON.stringify(settings)} fails on ${JSON.stringify(response)}`, () => {
    const error = assertThrows(
      () => acceptDeflateResponse(parseExtensions(response), deflateSettings(settings, "client")),
      UpgradeFailedError,
      message,
    );
    assertEquals(error.status, 101);
  });
}

Deno.test("permessage-deflate: a client and a server agree on the same parameters", () => {
  const choices: DeflateOptions[] = [
    {},
    WINDOWS_12,
    { serverNoContextTakeover: false },
    { serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
    { serverMaxWindowBits: 9, clientMaxWindowBits: 14 },
    { serverNoContextTakeover: true },
    { clientNoContextTakeover: true, clientMaxWindowBits: 10 },
  ];
  for (const client of choices.map((choice) => deflateSettings(choice, "client"))) {
    for (const server of choices.map((choice) => deflateSettings(choice))) {
      const answer = acceptDeflateOffer(parseExtensions(deflateOffer(client)), server);
      if (answer === null) throw new Error("the server declined our own offer");
      assertEquals(
        acceptDeflateResponse(parseExtensions(answer.response), client),
        answer.parameters,
        JSON.stringify({ client, server }),
      );
    }
  }
});

Deno.test("permessage-deflate: settings default to no server context, windows of 15, level 6, memLevel 8", () => {
  assertEquals(deflateSettings(), {
    serverNoContextTakeover: true,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
    threshold: 1024,
    level: 6,
    memLevel: 8,
    maxConnections: 4096,
  });
  assertEquals(deflateSettings({ level: undefined }), deflateSettings());
  assertEquals(deflateSettings({}), deflateSettings());
});

Deno.test("permessage-deflate: a server's and a client's default settings differ only in serverNoContextTakeover", () => {
  const server = deflateSettings({});
  const client = deflateSettings({}, "client");
  assertEquals(server.serverNoContextTakeover, true);
  assertEquals(client.serverNoContextTakeover, false);
  assertEquals({ ...client, serverNoContextTakeover: true }, server);
  assertEquals(deflateSettings({}, "server"), server);
  assertEquals(deflateSettings({ serverNoContextTakeover: undefined }, "client"), client);
});

Deno.test("permessage-deflate: settings keep a serverNoContextTakeover given, on either end", () => {
  for (const role of ["server", "client"] as const) {
    for (const serverNoContextTakeover of [false, true]) {
      assertEquals(
        deflateSettings({ serverNoContextTakeover }, role).serverNoContextTakeover,
        serverNoContextTakeover,
        role,
      );
    }
  }
});

Deno.test("permessage-deflate: settings take the ends of every range", () => {
  const lowest = {
    serverNoContextTakeover: true,
    clientNoContextTakeover: true,
    serverMaxWindowBits: 9,
    clientMaxWindowBits: 9,
    threshold: 0,
    level: -1,
    memLevel: 1,
    maxConnections: 0,
  };
  assertEquals(deflateSettings(lowest), lowest);
  const highest = {
    ...lowest,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
    level: 9,
    memLevel: 9,
    maxConnections: Infinity,
  };
  assertEquals(deflateSettings(highest), highest);
});

const OUT_OF_RANGE: [options: DeflateOptions, message: string][] = [
  [{ serverMaxWindowBits: 8 }, "serverMaxWindowBits must be a whole number from 9 to 15, not 8"],
  [{ serverMaxWindowBits: 16 }, "serverMaxWindowBits must be a whole number from 9 to 15, not 16"],
  [
    { serverMaxWindowBits: 12.5 },
    "serverMaxWindowBits must be a whole number from 9 to 15, not 12.5",
  ],
  [{ clientMaxWindowBits: 8 }, "clientMaxWindowBits must be a whole number from 9 to 15, not 8"],
  [
    { clientMaxWindowBits: NaN },
    "clientMaxWindowBits must be a whole number from 9 to 15, not NaN",
  ],
  [{ threshold: -1 }, "threshold must be a whole number 0 or more, not -1"],
  [{ threshold: 0.5 }, "threshold must be a whole number 0 or more, not 0.5"],
  [{ threshold: Infinity }, "threshold must be a whole number 0 or more, not Infinity"],
  [{ level: -2 }, "level must be a whole number from -1 to 9, not -2"],
  [{ level: 10 }, "level must be a whole number from -1 to 9, not 10"],
  [{ memLevel: 0 }, "memLevel must be a whole number from 1 to 9, not 0"],
  [{ memLevel: 10 }, "memLevel must be a whole number from 1 to 9, not 10"],
  [{ maxConnections: -1 }, "maxConnections must be a whole number 0 or more, not -1"],
  [{ maxConnections: 1.5 }, "maxConnections must be a whole number 0 or more, not 1.5"],
  [{ maxConnections: -Infinity }, "maxConnections must be a whole number 0 or more, not -Infinity"],
];

for (const [options, message] of OUT_OF_RANGE) {
  const [[name, value]] = Object.entries(options);
  Deno.test(`permessage-deflate: settings refuse ${name} ${value} with RangeError`, () => {
    assertThrows(() => deflateSettings(options), RangeError, message);
  });
}
