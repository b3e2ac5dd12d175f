/**
 * The collectives a model-parallel head needs, behind one small interface: {@link LocalComm} is the one
 * process of an ordinary run (every collective is the identity), `MpiComm` (./mpi-comm.ts) the ranks of
 * an MPI job. Buffers are typed arrays used in place; every rank must make the same calls in the same
 * order with the same lengths, as in MPI itself.
 */
import { InvalidArgumentError, ShapeMismatchError } from '../errors.js';

/** The typed arrays a collective accepts (MPI_FLOAT, MPI_DOUBLE, MPI_INT). */
export type CommArray = Float32Array | Float64Array | Int32Array;

/** A communicator over `size` processes; this one is `rank`. */
export interface Comm {
  readonly rank: number;
  readonly size: number;
  /** `recv` (size × send.length values, same type) receives every rank's `send`, in rank order. */
  allGather<T extends CommArray>(send: T, recv: T): void;
  /** Element-wise maximum over ranks, in place. */
  allReduceMax(buf: CommArray): void;
  /** Element-wise sum over ranks, in place. */
  allReduceSum(buf: CommArray): void;
  /**
   * `recv` (send.length / size values) receives block `rank` of the element-wise sum over ranks of `send`
   * (MPI_Reduce_scatter_block): each rank gets its share of a sum without anyone holding all of it.
   */
  reduceScatter<T extends Float32Array | Float64Array>(send: T, recv: T): void;
  /** Returns once every rank has called it. */
  barrier(): void;
}

function sameType(a: CommArray, b: CommArray, name: string): void {
  if (a.constructor !== b.constructor)
    throw new InvalidArgumentError(name, `a ${a.constructor.name} like the other buffer`, b);
}

function isCommArray(a: unknown): a is CommArray {
  return a instanceof Float32Array || a instanceof Float64Array || a instanceof Int32Array;
}

/** Checks the buffers of an all-gather over `size` ranks (shared by every Comm). */
export function checkAllGather(send: CommArray, recv: CommArray, size: number): void {
  if (!isCommArray(send))
    throw new InvalidArgumentError('send', 'a Float32Array, Float64Array or Int32Array', send);
  if (!isCommArray(recv))
    throw new InvalidArgumentError('recv', 'a Float32Array, Float64Array or Int32Array', recv);
  sameType(send, recv, 'recv');
  if (recv.length !== send.length * size)
    throw new ShapeMismatchError('recv', `${size} × ${send.length} values`, String(recv.length));
}

/** Checks the buffers of a reduce-scatter over `size` ranks (shared by every Comm). */
export function checkReduceScatter(send: CommArray, recv: CommArray, size: number): void {
  if (!(send instanceof Float32Array || send instanceof Float64Array))
    throw new InvalidArgumentError('send', 'a Float32Array or Float64Array', send);
  sameType(send, recv, 'recv');
  if (send.length !== recv.length * size)
    throw new ShapeMismatchError('send', `${size} × ${recv.length} values`, String(send.length));
}

/** Checks an all-reduce buffer (shared by every Comm). */
export function checkAllReduce(buf: CommArray): void {
  if (!isCommArray(buf))
    throw new InvalidArgumentError('buf', 'a Float32Array, Float64Array or Int32Array', buf);
}

/** One process: rank 0 of 1. Gathers and scatters copy, reductions leave the buffer as it is. */
export class LocalComm implements Comm {
  readonly rank = 0;
  readonly size = 1;

  allGather<T extends CommArray>(send: T, recv: T): void {
    checkAllGather(send, recv, 1);
    if (recv !== send) recv.set(send as never);
  }

  allReduceMax(buf: CommArray): void {
    checkAllReduce(buf);
  }

  allReduceSum(buf: CommArray): void {
    checkAllReduce(buf);
  }

  reduceScatter<T extends Float32Array | Float64Array>(send: T, recv: T): void {
    checkReduceScatter(send, recv, 1);
    if (recv !== send) recv.set(send as never);
  }

  barrier(): void {}
}
