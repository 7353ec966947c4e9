/**
 * Readers for what a process did under `strace -f` and what systemd's `SystemCallFilter=`
 * groups allow, so the unit's filters are checked against the real binary. Pure.
 */

const CALL = /^\d+\s+(?:<\.\.\. )?([a-z0-9_]+)(?:\(| resumed>)/;

/** Names of the system calls in an `strace -f` log. */
export function tracedSyscalls(log: string): Set<string> {
  const names = new Set<string>();
  for (const line of log.split("\n")) {
    const match = CALL.exec(line);
    if (match !== null) names.add(match[1]!);
  }
  return names;
}

/** Address families passed to socket(2), e.g. "AF_INET". */
export function socketFamilies(log: string): Set<string> {
  return new Set([...log.matchAll(/\bsocket\((AF_[A-Z0-9]+)/g)].map((match) => match[1]!));
}

/** mmap/mprotect calls asking for memory that is writable and executable at once. */
export function writableExecutableMappings(log: string): string[] {
  return log.split("\n").filter((line) =>
    /\b(mmap|mprotect|pkey_mprotect)\(/.test(line) && /PROT_WRITE\|PROT_EXEC/.test(line)
  );
}

/**
 * Expands a group of `systemd-analyze syscall-filter` output ("@group" headers, then indented
 * names, "@subgroup" references and "#" comments) into the system calls it allows.
 */
export function expandSyscallGroup(listing: string, group: string): Set<string> {
  const groups = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const raw of listing.split("\n")) {
    if (raw.startsWith("@")) {
      current = [];
      groups.set(raw.trim(), current);
      continue;
    }
    const item = raw.trim();
    if (current === undefined || item === "" || item.startsWith("#")) continue;
    current.push(item);
  }
  const allowed = new Set<string>();
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const members = groups.get(name);
    if (members === undefined) throw new Error(`Unknown system call group ${name}`);
    for (const member of members) {
      if (member.startsWith("@")) visit(member);
      else allowed.add(member);
    }
  };
  visit(group);
  return allowed;
}
