import { timingSafeEqual } from "node:crypto";

const encoder = new TextEncoder();

/** Compares two secrets in time independent of where they differ (length may leak; fine). */
export function secureEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
