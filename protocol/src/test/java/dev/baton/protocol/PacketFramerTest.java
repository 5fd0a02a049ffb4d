package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import org.junit.jupiter.api.Test;

import static dev.baton.protocol.TestPackets.MAX;
import static dev.baton.protocol.TestPackets.bytes;
import static dev.baton.protocol.TestPackets.concat;
import static dev.baton.protocol.TestPackets.frame;
import static dev.baton.protocol.TestPackets.pattern;
import static dev.baton.protocol.TestPackets.query;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PacketFramerTest {

    @Test
    void emitsAWholePacketWithItsHeader() {
        EmbeddedChannel ch = new EmbeddedChannel(new PacketFramer(MAX));
        byte[] packet = frame(0, query("SELECT 1"));

        assertTrue(ch.writeInbound(Unpooled.wrappedBuffer(packet)));

        assertArrayEquals(packet, readFrame(ch));
        assertFalse(ch.finish());
    }

    @Test
    void assemblesAPacketFedOneByteAtATime() {
        EmbeddedChannel ch = new EmbeddedChannel(new PacketFramer(MAX));
        byte[] packet = frame(1, query("SELECT @@version"));

        for (int i = 0; i < packet.length - 1; i++) {
            assertFalse(ch.writeInbound(Unpooled.wrappedBuffer(packet, i, 1)), "emitted after " + (i + 1) + " bytes");
        }
        assertTrue(ch.writeInbound(Unpooled.wrappedBuffer(packet, packet.length - 1, 1)));

        assertArrayEquals(packet, readFrame(ch));
        assertFalse(ch.finish());
    }

    @Test
    void cutsSeveralPacketsOutOfOneBuffer() {
        EmbeddedChannel ch = new EmbeddedChannel(new PacketFramer(MAX));
        byte[] first = frame(0, query("BEGIN"));
        byte[] second = frame(0, query("UPDATE t SET n = n + 1"));
        byte[] third = frame(0, query("COMMIT"));

        assertTrue(ch.writeInbound(Unpooled.wrappedBuffer(concat(first, second, third))));

        assertArrayEquals(first, readFrame(ch));
        assertArrayEquals(second, readFrame(ch));
        assertArrayEquals(third, readFrame(ch));
        assertFalse(ch.finish());
    }

    @Test
    void keepsThePartOfTheNextPacketUntilItIsWhole() {
        EmbeddedChannel ch = new EmbeddedChannel(new PacketFramer(MAX));
        byte[] first = frame(0, query("SELECT 1"));
        byte[] second = frame(0, query("SELECT 2"));
        byte[] stream = concat(first, second);

        assertTrue(ch.writeInbound(Unpooled.wrappedBuffer(stream, 0, first.length + 6)));
        assertArrayEquals(first, readFrame(ch));
        assertNull(ch.readInbound());

        assertTrue(ch.writeInbound(Unpooled.wrappedBuffer(stream, first.length + 6, second.length - 6)));
        assertArrayEquals(second, readFrame(ch));
        assertFalse(ch.finish());
    }

    @Test
    void decodesAHeaderOnlyPacketWithAnEmptyPayload() {
        EmbeddedChannel ch = new EmbeddedChannel(new PacketFramer(MAX));

        assertTrue(ch.writeInbound(Unpooled.wrappedBuffer(bytes(0, 0, 0, 3))));

        ByteBuf frame = ch.readInbound();
        try {
            assertEquals(4, frame.readableBytes());
            assertEquals(0, Packets.payloadLength(frame));
            assertEquals(3, Packets.sequenceId(frame));
            assertFalse(Packets.payload(frame).isReadable());
        } finally {
            frame.release();
        }
        assertFalse(ch.finish());
    }

    @Test
    void emitsAFullSixteenMiBPacketAndTheEmptyPacketThatEndsIt() {
        EmbeddedChannel ch = new EmbeddedChannel(new PacketFramer(MAX));
        byte[] payload = pattern(MAX);
        byte[] stream = concat(frame(0, payload), frame(1, new byte[0]));

        assertTrue(ch.writeInbound(Unpooled.wrappedBuffer(stream)));

        ByteBuf full = ch.readInbound();
        try {
            assertEquals(MAX, Packets.payloadLength(full));
            assertEquals(0, Packets.sequenceId(full));
            assertArrayEquals(payload, ByteBufUtil.getBytes(Packets.payload(full)));
        } finally {
            full.release();
        }
        ByteBuf empty = ch.readInbound();
        try {
            assertEquals(0, Packets.payloadLength(empty));
            assertEquals(1, Packets.sequenceId(empty));
            assertEquals(4, empty.readableBytes());
        } finally {
            empty.release();
        }
        assertFalse(ch.finish());
    }

    @Test
    void decodesATwentyMiBPayloadFramedByPacketsBackIntoItsPhysicalPackets() {
        EmbeddedChannel ch = new EmbeddedChannel(new PacketFramer(MAX));
        int size = 20 << 20;
        byte[] payload = pattern(size);
        ByteBuf framed = Packets.frame(UnpooledByteBufAllocator.DEFAULT, 7, Unpooled.wrappedBuffer(payload));

        int chunk = 3 << 20; // arrives in several reads, as from a socket
        while (framed.isReadable()) {
            ch.writeInbound(framed.readRetainedSlice(Math.min(chunk, framed.readableBytes())));
        }
        framed.release();

        byte[] joined = new byte[size];
        ByteBuf first = ch.readInbound();
        try {
            assertEquals(MAX, Packets.payloadLength(first));
            assertEquals(7, Packets.sequenceId(first));
            Packets.payload(first).getBytes(0, joined, 0, MAX);
        } finally {
            first.release();
        }
        ByteBuf rest = ch.readInbound();
        try {
            assertEquals(size - MAX, Packets.payloadLength(rest));
            assertEquals(8, Packets.sequenceId(rest));
            Packets.payload(rest).getBytes(0, joined, MAX, size - MAX);
        } finally {
            rest.release();
        }
        assertNull(ch.readInbound());
        assertArrayEquals(payload, joined);
        assertFalse(ch.finish());
    }

    @Test
    void rejectsAHeaderAnnouncingMoreThanTheLimitWithoutWaitingForThePayload() {
        EmbeddedChannel ch = new EmbeddedChannel(new PacketFramer(1024));
        ByteBuf header = Unpooled.wrappedBuffer(bytes(0x01, 0x04, 0x00, 0x01)); // 1025 bytes announced

        MalformedPacketException e = assertThrows(MalformedPacketException.class, () -> ch.writeInbound(header));

        assertInstanceOf(DecoderException.class, e);
        assertTrue(e.getMessage().contains("1025"), e.getMessage());
        assertEquals(0, header.refCnt());
        assertNull(ch.readInbound());
        assertFalse(ch.finish());
    }

    @Test
    void discardsEveryByteAfterAnOversizedHeaderInsteadOfFramingTheRestAsPackets() {
        EmbeddedChannel ch = new EmbeddedChannel(new PacketFramer(1024));
        ByteBuf header = Unpooled.wrappedBuffer(bytes(0x00, 0x10, 0x00, 0x01)); // 4096 bytes announced
        byte[] payloadLookingLikePackets = concat(frame(2, query("SELECT 1")), frame(3, query("SELECT 2")));

        assertThrows(MalformedPacketException.class, () -> ch.writeInbound(header));
        assertFalse(ch.writeInbound(Unpooled.wrappedBuffer(payloadLookingLikePackets)));

        assertNull(ch.readInbound());
        assertFalse(ch.finish());
    }

    @Test
    void acceptsAPacketOfExactlyTheLimit() {
        EmbeddedChannel ch = new EmbeddedChannel(new PacketFramer(1024));
        byte[] packet = frame(1, pattern(1024));

        assertTrue(ch.writeInbound(Unpooled.wrappedBuffer(packet)));

        assertArrayEquals(packet, readFrame(ch));
        assertFalse(ch.finish());
    }

    @Test
    void yieldsNothingForAPacketCutShortByTheChannelClosing() {
        EmbeddedChannel ch = new EmbeddedChannel(new PacketFramer(MAX));
        byte[] packet = frame(0, query("SELECT 1"));

        assertFalse(ch.writeInbound(Unpooled.wrappedBuffer(packet, 0, packet.length - 1)));

        assertFalse(ch.finish());
        assertNull(ch.readInbound());
    }

    @Test
    void yieldsNothingForAHeaderCutShortByTheChannelClosing() {
        EmbeddedChannel ch = new EmbeddedChannel(new PacketFramer(MAX));

        assertFalse(ch.writeInbound(Unpooled.wrappedBuffer(bytes(0x05, 0x00, 0x00))));

        assertFalse(ch.finish());
        assertNull(ch.readInbound());
    }

    @Test
    void refusesALimitBeyondOnePacket() {
        assertThrows(IllegalArgumentException.class, () -> new PacketFramer(MAX + 1));
        assertThrows(IllegalArgumentException.class, () -> new PacketFramer(-1));
    }

    private static byte[] readFrame(EmbeddedChannel ch) {
        ByteBuf frame = ch.readInbound();
        try {
            return ByteBufUtil.getBytes(frame);
        } finally {
            frame.release();
        }
    }
}
