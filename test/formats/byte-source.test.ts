import { describe, expect, it } from 'vitest';
import { ByteSource } from '../../src/formats/_bytes.js';

/** A ByteSource over `pieces`, as a stream hands them over, counting the pieces taken. */
function source(pieces: string[]): { bytes: ByteSource; taken: () => number } {
  let taken = 0;
  async function* chunks(): AsyncGenerator<Buffer> {
    for (const p of pieces) {
      taken++;
      yield Buffer.from(p, 'latin1');
    }
  }
  return { bytes: new ByteSource(chunks(), 'pieces.json'), taken: () => taken };
}

describe('ByteSource.indexOf', () => {
  it('finds a byte across peeked pieces from any offset, reading only as far as asked, and leaves the bytes to peek and read', async () => {
    const { bytes, taken } = source(['ab', 'cde\n', 'f\ng', 'h']);
    // Two bytes asked for: one piece read, no newline in it.
    expect(await bytes.indexOf(0x0a, 0, 2)).toEqual({ at: -1, peeked: 2 });
    expect(taken()).toBe(1);
    // From inside the second piece, past the first.
    expect(await bytes.indexOf(0x0a, 3, 4)).toEqual({ at: 5, peeked: 6 });
    expect(taken()).toBe(2);
    // A search from past the first newline finds the next one, in the third piece.
    expect(await bytes.indexOf(0x0a, 6, 7)).toEqual({ at: 7, peeked: 9 });
    // Past the last newline, to the end of the stream: none, and every byte peeked.
    expect(await bytes.indexOf(0x0a, 8, 100)).toEqual({ at: -1, peeked: 10 });
    expect(bytes.holdsAll()).toBe(true);
    // Nothing was consumed: peek and the chunks still give every byte, in order.
    expect((await bytes.peek(100)).toString('latin1')).toBe('abcde\nf\ngh');
    const read: string[] = [];
    for await (const chunk of bytes.chunks()) read.push(chunk.toString('latin1'));
    expect(read.join('')).toBe('abcde\nf\ngh');
  });

  it('finds a byte at the very start of a piece and at offset 0', async () => {
    const { bytes } = source(['\nx', 'yz', '\n']);
    expect(await bytes.indexOf(0x0a, 0, 1)).toEqual({ at: 0, peeked: 2 });
    expect(await bytes.indexOf(0x0a, 1, 5)).toEqual({ at: 4, peeked: 5 });
    expect(await bytes.indexOf(0x7a, 0, 5)).toEqual({ at: 3, peeked: 5 });
  });
});
