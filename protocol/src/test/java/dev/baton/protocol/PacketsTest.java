package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static dev.baton.protocol.TestPackets.MAX;
import static dev.baton.protocol.TestPackets.bytes;
import static dev.baton.protocol.TestPackets.pattern;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.params.provider.Arguments.arguments;

class PacketsTest {

    /** Payload size, first sequence id, then the (length, sequence id) of every physical packet expected. */
    static Stream<Arguments> splits() {
        return Stream.of(
                arguments(0, 0, List.of(packet(0, 0))),
                arguments(1, 3, List.of(packet(1, 3))),
                arguments(MAX - 1, 0, List.of(packet(MAX - 1, 0))),
                arguments(MAX, 0, List.of(packet(MAX, 0), packet(0, 1))),
                arguments(MAX + 1, 1, List.of(packet(MAX, 1), packet(1, 2))),
                arguments(2 * MAX, 254, List.of(packet(MAX, 254), packet(MAX, 255), packet(0, 0))));
    }

    @ParameterizedTest(name = "{0} bytes from sequence id {1}")
    @MethodSource("splits")
    void frameSplitsAtSixteenMiBAndEndsWithAShortOrEmptyPacket(int size, int firstSequenceId, List<Packet> expected) {
        byte[] payload = pattern(size);
        ByteBuf source = Unpooled.buffer(size).writeBytes(payload);

        ByteBuf framed = Packets.frame(UnpooledByteBufAllocator.DEFAULT, firstSequenceId, source);
        try {
            assertEquals(0, source.refCnt(), "frame releases the payload it was given");
            assertEquals(size + expected.size() * Packets.HEADER_SIZE, framed.readableBytes());
            assertPackets(expected, payload, framed);
        } finally {
            framed.release();
        }
    }

    @ParameterizedTest(name = "{0} bytes from sequence id {1}")
    @MethodSource("splits")
    void writeFramedSplitsAtSixteenMiBAndReturnsTheNextSequenceId(int size, int firstSequenceId, List<Packet> expected) {
        byte[] payload = pattern(size);
        ByteBuf source = Unpooled.wrappedBuffer(payload);
        ByteBuf out = UnpooledByteBufAllocator.DEFAULT.buffer();
        try {
            out.writeBytes(bytes(0xAA, 0xBB)); // whatever the caller had written before stays in front

            int next = Packets.writeFramed(out, firstSequenceId, source);

            assertEquals((expected.get(expected.size() - 1).sequenceId() + 1) & 0xFF, next);
            assertEquals(0, source.readableBytes(), "the payload is consumed");
            assertEquals(0xAABB, out.readUnsignedShort());
            assertPackets(expected, payload, out);
        } finally {
            out.release();
            source.release();
        }
    }

    @Test
    void framesASmallPayloadAsOneHeaderAndTheBytes() {
        ByteBuf framed = Packets.frame(UnpooledByteBufAllocator.DEFAULT, 0, Unpooled.wrappedBuffer(bytes(0x0E)));
        try {
            assertArrayEquals(bytes(0x01, 0x00, 0x00, 0x00, 0x0E), ByteBufUtil.getBytes(framed));
        } finally {
            framed.release();
        }
    }

    @Test
    void readsLengthSequenceIdAndPayloadOfAFrameAtItsReaderIndex() {
        ByteBuf buf = Unpooled.wrappedBuffer(bytes(0x99, 0x03, 0x00, 0x00, 0x05, 0x01, 0x02, 0x03));
        buf.skipBytes(1);

        assertEquals(3, Packets.payloadLength(buf));
        assertEquals(5, Packets.sequenceId(buf));
        assertArrayEquals(bytes(1, 2, 3), ByteBufUtil.getBytes(Packets.payload(buf)));
        assertEquals(1, buf.readerIndex(), "reading the header moves nothing");
        buf.release();
    }

    /** Walks the physical packets of {@code framed}, checking each header and that the payloads join to {@code payload}. */
    private static void assertPackets(List<Packet> expected, byte[] payload, ByteBuf framed) {
        List<Packet> actual = new ArrayList<>();
        byte[] joined = new byte[payload.length];
        int at = 0;
        while (framed.isReadable()) {
            int length = framed.readUnsignedMediumLE();
            actual.add(packet(length, framed.readUnsignedByte()));
            framed.readBytes(joined, at, length);
            at += length;
        }
        assertEquals(expected, actual);
        assertEquals(payload.length, at);
        assertArrayEquals(payload, joined);
    }

    record Packet(int length, int sequenceId) {
    }

    private static Packet packet(int length, int sequenceId) {
        return new Packet(length, sequenceId);
    }
}
