/**
 * A command prefix that runs the rest of the command line under the kernel's "no memory both
 * writable and executable" rule (prctl PR_SET_MDWE with PR_MDWE_REFUSE_EXEC_GAIN, kept across
 * exec): what systemd's MemoryDenyWriteExecute=yes enforces, without a running systemd. Linux
 * 6.3 or later, python3.
 */
export const MEMORY_DENY_WRITE_EXECUTE: readonly string[] = [
  "python3",
  "-c",
  "import ctypes, os, sys\n" +
  "if ctypes.CDLL(None, use_errno=True).prctl(65, 1, 0, 0, 0) != 0:\n" +
  "    sys.exit('prctl(PR_SET_MDWE) failed: errno %d' % ctypes.get_errno())\n" +
  "os.execvp(sys.argv[1], sys.argv[1:])",
];
