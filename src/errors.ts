/**
 * Every error faceverloss throws on purpose is a {@link FaceVerLossError}. Subclasses say what kind of
 * problem it is; the message always names the argument (or file) and the expected form, so a user can
 * fix the call without reading our source.
 */
export class FaceVerLossError extends Error {
  /** Stable machine-readable code, e.g. `INVALID_ARGUMENT`. */
  readonly code: string;
  constructor(message: string, code = 'FACEVERLOSS_ERROR') {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An argument has the wrong type, range or value. */
export class InvalidArgumentError extends FaceVerLossError {
  readonly argument: string;
  readonly expected: string;
  constructor(argument: string, expected: string, got?: unknown) {
    super(
      `invalid argument '${argument}': expected ${expected}${got === undefined ? '' : `, got ${describe(got)}`}`,
      'INVALID_ARGUMENT',
    );
    this.argument = argument;
    this.expected = expected;
  }
}

/** Two arguments (or an argument and a layer) disagree about a shape. */
export class ShapeMismatchError extends FaceVerLossError {
  readonly argument: string;
  constructor(argument: string, expected: string, got: string) {
    super(`shape mismatch for '${argument}': expected ${expected}, got ${got}`, 'SHAPE_MISMATCH');
    this.argument = argument;
  }
}

/** A number that must be finite is NaN or ±Infinity (inputs, or a training step that diverged). */
export class NonFiniteError extends FaceVerLossError {
  readonly argument: string;
  constructor(argument: string, where: string) {
    super(`'${argument}' must be finite: found a non-finite value at ${where}`, 'NON_FINITE');
    this.argument = argument;
  }
}

/** A head name (or other registry key) is not known. */
export class UnknownNameError extends FaceVerLossError {
  constructor(kind: string, name: string, known: readonly string[]) {
    super(`unknown ${kind} '${name}': expected one of ${known.join(', ')}`, 'UNKNOWN_NAME');
  }
}

/** A file is missing, unreadable, truncated or not in the expected format. */
export class CorruptFileError extends FaceVerLossError {
  readonly path: string;
  constructor(path: string, problem: string, code = 'CORRUPT_FILE') {
    super(`${path}: ${problem}`, code);
    this.path = path;
  }
}

/**
 * A file is larger than a reader accepts. A kind of {@link CorruptFileError} (code `FILE_TOO_LARGE`), so
 * code that handles bad files handles this one too; `limit` is the cap in bytes that was exceeded.
 */
export class FileTooLargeError extends CorruptFileError {
  readonly limit: number;
  constructor(path: string, problem: string, limit: number) {
    super(path, problem, 'FILE_TOO_LARGE');
    this.limit = limit;
  }
}

/**
 * A pickle asks for something the reader does not do: a global outside its allow-list (such as
 * `os.system` or `builtins.eval`), an opcode it does not read, or a call it does not interpret. A kind of
 * {@link CorruptFileError} (code `UNSUPPORTED_PICKLE`); `global` names the refused `module.name`, if any.
 * Nothing in a pickle is ever executed: refusing is the only thing the reader does with such a request.
 */
export class UnsupportedPickleError extends CorruptFileError {
  readonly global: string | undefined;
  constructor(path: string, problem: string, global?: string) {
    super(path, problem, 'UNSUPPORTED_PICKLE');
    this.global = global;
  }
}

/**
 * A checkpoint's weights do not fit the network they are loaded into: keys missing, keys the network
 * does not have, or tensors of another shape. Every difference is listed (`missing`, `unexpected`,
 * `misshaped`), so one run of the loader says all that is wrong.
 */
export class CheckpointMismatchError extends FaceVerLossError {
  readonly path: string;
  readonly missing: readonly string[];
  readonly unexpected: readonly string[];
  readonly misshaped: readonly string[];
  constructor(
    path: string,
    network: string,
    missing: readonly string[],
    unexpected: readonly string[],
    misshaped: readonly string[],
  ) {
    const list = (what: string, keys: readonly string[]) =>
      keys.length === 0
        ? []
        : [`${what} (${keys.length}): ${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', …' : ''}`];
    super(
      `${path}: the weights do not fit ${network}: ${[
        ...list('missing', missing),
        ...list('unexpected', unexpected),
        ...list('mis-shaped', misshaped),
      ].join('; ')}`,
      'CHECKPOINT_MISMATCH',
    );
    this.path = path;
    this.missing = missing;
    this.unexpected = unexpected;
    this.misshaped = misshaped;
  }
}

/** A configuration mixes options that cannot go together (e.g. an anchor branch that raises). */
export class UnsupportedConfigError extends FaceVerLossError {
  constructor(message: string) {
    super(message, 'UNSUPPORTED_CONFIG');
  }
}

/**
 * Another process holds the run folder: a trainer (or `compare`) is writing it. Two writers would mix
 * their checkpoints and metrics, so the second one stops before touching anything.
 */
export class RunFolderLockedError extends FaceVerLossError {
  readonly folder: string;
  readonly pid: number;
  readonly host: string;
  constructor(folder: string, pid: number, host: string, lockFile: string) {
    super(
      `run folder ${folder} is in use by process ${pid} on ${host}; wait for it to finish, or remove ` +
        `${lockFile} if that process is gone`,
      'RUN_FOLDER_LOCKED',
    );
    this.folder = folder;
    this.pid = pid;
    this.host = host;
  }
}

/** The native engine was asked for but is not built or not loadable on this machine. */
export class NativeUnavailableError extends FaceVerLossError {
  constructor(reason: string) {
    super(`native engine unavailable: ${reason}`, 'NATIVE_UNAVAILABLE');
  }
}

/**
 * A feature needs a package that is an optional peer of faceverloss and is not installed (training
 * data, image decoding, pictures, TF.js). The message names the package and the command that adds it.
 */
export class MissingPackageError extends FaceVerLossError {
  readonly packageName: string;
  constructor(feature: string, packageName: string, install: string) {
    super(
      `${feature} needs the package '${packageName}', which is not installed: ${install}`,
      'MISSING_PACKAGE',
    );
    this.packageName = packageName;
  }
}

/**
 * Model parallelism (a head sharded over processes) was asked for, but the MPI addon is not built or MPI
 * cannot start; the message says what to install or how to launch.
 */
export class ModelParallelUnavailableError extends FaceVerLossError {
  constructor(reason: string) {
    super(`model parallelism unavailable: ${reason}`, 'MODEL_PARALLEL_UNAVAILABLE');
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value))
    return `a ${value.constructor.name} of length ${(value as Float64Array).length}`;
  return typeof value;
}
