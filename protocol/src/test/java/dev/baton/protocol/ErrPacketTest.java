package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.Test;

import static dev.baton.protocol.TestPackets.bytes;
import static dev.baton.protocol.TestPackets.payload;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ErrPacketTest {
    private static final ErrPacket ACCESS_DENIED =
            new ErrPacket(1045, "28000", "Access denied for user 'jürgen'@'10.0.0.7' \uD83D\uDD12");

    @Test
    void encodesHeaderCodeSqlStateAndAUtf8Message() {
        byte[] expected = payload().int1(0xFF).int2(1045).string("#28000")
                .string("Access denied for user 'jürgen'@'10.0.0.7' \uD83D\uDD12").build();

        assertArrayEquals(expected, encode(ACCESS_DENIED));
    }

    @Test
    void decodesWhatItEncodes() {
        assertEquals(ACCESS_DENIED, decode(encode(ACCESS_DENIED)));
    }

    @Test
    void framesTheErrorWithTheGivenSequenceId() {
        byte[] payload = encode(ACCESS_DENIED);

        ByteBuf frame = ACCESS_DENIED.toFrame(UnpooledByteBufAllocator.DEFAULT, 2);
        try {
            assertEquals(payload.length, Packets.payloadLength(frame));
            assertEquals(2, Packets.sequenceId(frame));
            assertArrayEquals(payload, ByteBufUtil.getBytes(Packets.payload(frame)));
            assertEquals(Packets.HEADER_SIZE + payload.length, frame.readableBytes());
        } finally {
            frame.release();
        }
    }

    @Test
    void readsAnErrorWithoutSqlStateAsHy000() {
        byte[] payload = payload().int1(0xFF).int2(1040).string("Too many connections").build();

        ErrPacket err = decode(payload);

        assertEquals(new ErrPacket(1040, "HY000", "Too many connections"), err);
    }

    @Test
    void readsAnErrorWithAnEmptyMessage() {
        assertEquals(new ErrPacket(1317, "70100", ""), decode(payload().int1(0xFF).int2(1317).string("#70100").build()));
    }

    @Test
    void rejectsAPacketThatIsNotAnError() {
        assertThrows(MalformedPacketException.class, () -> decode(TestPackets.ok(0)));
    }

    @Test
    void rejectsAnErrorCutInsideItsCodeOrSqlState() {
        assertThrows(MalformedPacketException.class, () -> decode(bytes(0xFF, 0x15)));
        assertThrows(MalformedPacketException.class, () -> decode(payload().int1(0xFF).int2(1045).string("#280").build()));
    }

    @Test
    void refusesASqlStateThatIsNotFiveCharacters() {
        assertThrows(IllegalArgumentException.class, () -> new ErrPacket(1045, "2800", "Access denied"));
    }

    private static byte[] encode(ErrPacket err) {
        ByteBuf out = Unpooled.buffer();
        try {
            err.encode(out);
            return ByteBufUtil.getBytes(out);
        } finally {
            out.release();
        }
    }

    private static ErrPacket decode(byte[] payload) {
        ByteBuf buf = Unpooled.wrappedBuffer(payload);
        try {
            return ErrPacket.decode(buf);
        } finally {
            buf.release();
        }
    }
}
