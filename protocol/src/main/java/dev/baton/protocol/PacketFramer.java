package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.util.List;

/**
 * Cuts a byte stream into whole physical packets (header included), each a retained slice of the input. It does
 * not join 16 MiB splits: Baton only frames the few handshake packets it must read whole, and streams the rest.
 * A header announcing more than {@code maxPayload} bytes fails at once with a {@link MalformedPacketException}
 * instead of buffering it; the stream has lost its framing then, so every later byte is discarded unread.
 */
public final class PacketFramer extends ByteToMessageDecoder {
    private final int maxPayload;
    private boolean failed;

    public PacketFramer(int maxPayload) {
        if (maxPayload < 0 || maxPayload > Packets.MAX_PAYLOAD) {
            throw new IllegalArgumentException("maxPayload must be within 0.." + Packets.MAX_PAYLOAD + ": " + maxPayload);
        }
        this.maxPayload = maxPayload;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (in.readableBytes() < Packets.HEADER_SIZE) {
            return;
        }
        int length = in.getUnsignedMediumLE(in.readerIndex());
        if (length > maxPayload) {
            failed = true;
            in.skipBytes(in.readableBytes());
            throw new MalformedPacketException("packet of " + length + " bytes exceeds the " + maxPayload
                    + "-byte limit at this stage");
        }
        if (in.readableBytes() < Packets.HEADER_SIZE + length) {
            return;
        }
        out.add(in.readRetainedSlice(Packets.HEADER_SIZE + length));
    }
}
