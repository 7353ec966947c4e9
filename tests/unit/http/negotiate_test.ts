import { assertEquals } from "../../support/assert.ts";
import { pickLanguage } from "../../../src/http/pages/negotiate.ts";

Deno.test("pickLanguage() takes the supported language with the highest weight", () => {
  const rows: Array<[string | undefined, string]> = [
    [undefined, "en"],
    ["", "en"],
    ["de", "de"],
    ["de-AT", "de"],
    ["DE-de", "de"],
    ["fr;q=0.5, es;q=0.8", "es"],
    ["ja, es;q=0.1", "es"],
    ["en;q=0.2, de;q=0.3", "de"],
    ["de;q=0, fr;q=0.1", "fr"],
    ["*", "en"],
    ["pt-BR,pt;q=0.9", "en"],
    ["de;q=2", "en"],
    ["x-klingon-de, fr", "fr"],
    ["de;;;q=0.7,,,fr;q=0.6", "de"],
    ["fr, de", "fr"],
    // A parameter other than q leaves the weight at 1; a q above 1 is malformed, so weight 0.
    ["de;level=1", "de"],
    ["de;q=1.5, fr;q=0.9", "fr"],
  ];
  for (const [header, expected] of rows) {
    assertEquals(pickLanguage(header, "en"), expected, String(header));
  }
  assertEquals(pickLanguage("ja", "es"), "es");
});

Deno.test("pickLanguage() reads only the start of an oversized header", () => {
  const header = "xx;q=0.1,".repeat(10_000) + "de";
  assertEquals(pickLanguage(header, "fr"), "fr");
});
