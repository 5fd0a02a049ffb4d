package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

/**
 * Watches a stream of MySQL packets as it passes, without consuming or copying it, and reports the start of each
 * logical message (the first packet of a 16 MiB split; continuation packets are skipped). The caller forwards the
 * very buffers it scanned, so the data path stays zero-copy. Only when a header and the first
 * {@code headBytes} payload bytes straddle two reads are those few bytes copied into a small private stash, made
 * the first time it is needed: a connection that stays idle (most of them, with thousands of clients) never has one.
 */
public final class PacketScanner {

    /** Receives the start of each logical message. */
    public interface Listener {
        /**
         * @param sequenceId    sequence id of the message's first packet
         * @param payloadLength payload length of that packet ({@link Packets#MAX_PAYLOAD} if the message continues)
         * @param buf           holds the payload's first bytes from {@code index}; valid only during this call
         * @param available     payload bytes readable from {@code index}: at least {@code min(payloadLength, headBytes)}
         * @return false to stop scanning the rest of this buffer (the listener rejected the stream)
         */
        boolean onMessage(int sequenceId, int payloadLength, ByteBuf buf, int index, int available);
    }

    private final int headBytes;
    /** Null until a head first straddles two reads. */
    private ByteBuf stash;
    private boolean stashing;
    private int skip;
    private boolean continuation;
    private boolean failed;

    public PacketScanner(int headBytes) {
        if (headBytes < 1) {
            throw new IllegalArgumentException("headBytes must be positive: " + headBytes);
        }
        this.headBytes = headBytes;
    }

    /** True when the scanner stands at a packet boundary (nothing of a packet is half seen). */
    public boolean atBoundary() {
        return skip == 0 && !stashing && !continuation && !failed;
    }

    /**
     * Scans the readable bytes of {@code in} without moving its indices. {@code in} is neither retained nor
     * released: it stays the caller's, whatever happens here.
     *
     * <p>On its own the scanner accepts any bytes (every 3-byte length frames some packet). An exception the
     * listener throws, such as the {@link MalformedPacketException} of {@link CommandTracker#onServerMessage},
     * leaves {@code scan} at once and unchanged, and ends the scanner's use: its place in the stream is lost, so
     * it empties its stash, is never again {@link #atBoundary() at a boundary}, and every later call throws a
     * {@link MalformedPacketException} without reading {@code in}. The caller still owns {@code in} and releases
     * it; normally it answers its client with an ERR and closes the session.
     *
     * @return false if the listener stopped the scan (returned false)
     * @throws MalformedPacketException what the listener threw, or because an earlier listener call threw
     */
    public boolean scan(ByteBuf in, Listener listener) {
        if (failed) {
            throw new MalformedPacketException("stream no longer scanned: an earlier message in it was rejected");
        }
        try {
            return scanReadable(in, listener);
        } catch (Throwable t) {
            failed = true;
            stashing = false;
            if (stash != null) {
                stash.clear();
            }
            throw t;
        }
    }

    private boolean scanReadable(ByteBuf in, Listener listener) {
        int i = in.readerIndex();
        int end = in.writerIndex();
        while (i < end) {
            if (skip > 0) {
                int n = Math.min(skip, end - i);
                skip -= n;
                i += n;
                continue;
            }
            if (stashing) {
                int have = stash.writerIndex();
                if (have < Packets.HEADER_SIZE) {
                    int n = Math.min(Packets.HEADER_SIZE - have, end - i);
                    stash.writeBytes(in, i, n);
                    i += n;
                    if (stash.writerIndex() < Packets.HEADER_SIZE) {
                        break;
                    }
                }
                int length = stash.getUnsignedMediumLE(0);
                int want = Math.min(length, headBytes);
                int got = stash.writerIndex() - Packets.HEADER_SIZE;
                int n = Math.min(want - got, end - i);
                stash.writeBytes(in, i, n);
                i += n;
                got += n;
                if (got < want) {
                    break;
                }
                stashing = false;
                skip = length - got;
                stash.clear(); // indices only: the bytes stay readable by index for the listener
                if (!deliver(stash.getUnsignedByte(3), length, stash, Packets.HEADER_SIZE, got, listener)) {
                    return false;
                }
                continue;
            }
            int left = end - i;
            if (left < Packets.HEADER_SIZE
                    || left - Packets.HEADER_SIZE < Math.min(in.getUnsignedMediumLE(i), headBytes)) {
                stashing = true;
                if (stash == null) { // plain heap array: never needs a release
                    stash = Unpooled.wrappedBuffer(new byte[Packets.HEADER_SIZE + headBytes]).clear();
                }
                int n = Math.min(left, stash.capacity());
                stash.writeBytes(in, i, n);
                i += n;
                continue; // the stash branch takes any remainder of a header it could not hold
            }
            int length = in.getUnsignedMediumLE(i);
            int sequenceId = in.getUnsignedByte(i + 3);
            i += Packets.HEADER_SIZE;
            skip = length;
            if (!deliver(sequenceId, length, in, i, Math.min(length, end - i), listener)) {
                return false;
            }
        }
        return true;
    }

    private boolean deliver(int sequenceId, int length, ByteBuf buf, int index, int available, Listener listener) {
        boolean start = !continuation;
        continuation = length == Packets.MAX_PAYLOAD;
        return !start || listener.onMessage(sequenceId, length, buf, index, available);
    }
}
