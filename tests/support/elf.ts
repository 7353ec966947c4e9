/**
 * What an executable's ELF header says it runs on (e_ident and e_machine, its first 20 bytes),
 * read directly: no tool for a foreign architecture is needed.
 */
import { closeSync, openSync, readSync } from "node:fs";

/** e_machine values (the ELF specification's EM_X86_64 and EM_AARCH64). */
export const ELF_MACHINE = { x86_64: 62, aarch64: 183 } as const;

export interface ElfHeader {
  /** ELFCLASS64 rather than 32-bit. */
  readonly bits64: boolean;
  readonly littleEndian: boolean;
  readonly machine: number;
}

/** The header of the file at `path`, or undefined when it is not an ELF file. */
export function elfHeader(path: string): ElfHeader | undefined {
  const bytes = new Uint8Array(20);
  const fd = openSync(path, "r");
  try {
    if (readSync(fd, bytes, 0, bytes.length, 0) < bytes.length) return undefined;
  } finally {
    closeSync(fd);
  }
  if (bytes[0] !== 0x7f || String.fromCharCode(...bytes.subarray(1, 4)) !== "ELF") return undefined;
  const littleEndian = bytes[5] === 1;
  return {
    bits64: bytes[4] === 2,
    littleEndian,
    machine: new DataView(bytes.buffer).getUint16(18, littleEndian),
  };
}
