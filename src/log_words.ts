/**
 * Words of a log message that code chooses per record (`ahead of` or `behind`, what became of a
 * revoke), passed as a property so that a JSON line has them as a field too. A text line quotes
 * a string value as data (`user "alice"`), which such words are not: quoted, they read
 * `70 s "ahead of" Redis's`. Marked with words(), they are written into the sentence as they are,
 * in both formats. Only for text code wrote: data (a name, an address, an error's message) stays
 * a plain string, quoted; code that puts data into words quotes it itself (JSON.stringify). A
 * text line is escaped whole all the same (log.ts), words included: they cannot forge a record.
 */
import type { LogRecord } from "@logtape/logtape";

export class Words {
  readonly text: string;
  /** What a JSON line's property holds: the words, or the datum they stand for (wordsFor). */
  readonly value: string;

  constructor(text: string, value: string = text) {
    this.text = text;
    this.value = value;
  }

  toString(): string {
    return this.text;
  }

  toJSON(): string {
    return this.value;
  }
}

/** `text`, written into a log message as part of its sentence: see Words. */
export function words(text: string): Words {
  return new Words(text);
}

/**
 * A datum that reads as no value in a sentence, told there in `text`, and held as itself
 * (`value`) in a JSON line's property: a client without a certificate has the name "", which a
 * text line wrote `certificate ""` (or, with a placeholder in its place, as if a certificate were
 * named `"(no certificate)"`), and a JSON line's property is "", what README says of a name there
 * is none of.
 */
export function wordsFor(value: string, text: string): Words {
  return new Words(text, value);
}

/**
 * `items` as words of a sentence, each quoted as data (`"a", "b"`): a list joined into one
 * string and passed as a value read as one name (`"a, b"`).
 */
export function quotedList(items: readonly string[]): Words {
  return words(items.map((item) => JSON.stringify(item)).join(", "));
}

/**
 * `record` with each Words value of its message joined to the template text around it, so that
 * no formatter renders it as a value; the same record when it has none.
 */
export function withWordsInline(record: LogRecord): LogRecord {
  const message = record.message;
  let inline: unknown[] | undefined;
  for (let i = 1; i < message.length; i += 2) {
    const value = message[i];
    if (!(value instanceof Words)) {
      inline?.push(value, message[i + 1]);
      continue;
    }
    inline ??= message.slice(0, i);
    inline[inline.length - 1] = `${inline.at(-1)}${value.text}${message[i + 1]}`;
  }
  return inline === undefined ? record : { ...record, message: inline };
}
