package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.HexFormat;

import static dev.baton.protocol.TestPackets.bytes;
import static dev.baton.protocol.TestPackets.payload;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PayloadsTest {

    @ParameterizedTest(name = "{0} is written as {1}")
    @CsvSource({
            "0,                    00",
            "250,                  fa",
            "251,                  fcfb00",
            "65535,                fcffff",
            "65536,                fd000001",
            "16777215,             fdffffff",
            "16777216,             fe0000000100000000",
            "9223372036854775807,  feffffffffffffff7f",
            "9223372036854775809,  fe0100000000000080",
            "18446744073709551615, feffffffffffffffff"})
    void lenencIntegersRoundTripAtEveryBoundary(String unsigned, String hex) {
        long value = Long.parseUnsignedLong(unsigned);
        byte[] expected = HexFormat.of().parseHex(hex);
        ByteBuf buf = Unpooled.buffer();
        try {
            Payloads.writeLenencInt(buf, value);

            assertArrayEquals(expected, ByteBufUtil.getBytes(buf));
            assertEquals(expected.length, Payloads.lenencSize(buf, 0, buf.writerIndex()));
            assertEquals(value, Payloads.lenencIntAt(buf, 0));
            assertEquals(value, Payloads.readLenencInt(buf));
            assertFalse(buf.isReadable());
        } finally {
            buf.release();
        }
    }

    @ParameterizedTest(name = "first byte 0x{0}")
    @ValueSource(strings = {"fb", "ff"})
    void rejectsNullAndErrMarkersAsLenencIntegers(String first) {
        ByteBuf buf = Unpooled.wrappedBuffer(HexFormat.of().parseHex(first + "0000000000000000"));

        assertEquals(-1, Payloads.lenencSize(buf, 0, buf.writerIndex()));
        assertThrows(MalformedPacketException.class, () -> Payloads.lenencIntAt(buf, 0));
        assertThrows(MalformedPacketException.class, () -> Payloads.readLenencInt(buf));
        assertEquals(0, buf.readerIndex());
        buf.release();
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @ValueSource(strings = {"", "fc", "fc01", "fd0102", "fe01020304050607"})
    void rejectsATruncatedLenencInteger(String hex) {
        ByteBuf buf = Unpooled.wrappedBuffer(HexFormat.of().parseHex(hex));

        assertEquals(-1, Payloads.lenencSize(buf, 0, buf.writerIndex()));
        assertThrows(MalformedPacketException.class, () -> Payloads.readLenencInt(buf));
        assertEquals(0, buf.readerIndex());
        buf.release();
    }

    @Test
    void measuresALenencIntegerOnlyUpToTheGivenEnd() {
        ByteBuf buf = Unpooled.wrappedBuffer(bytes(0x07, 0xFC, 0x01, 0x02, 0x07));

        assertEquals(3, Payloads.lenencSize(buf, 1, 5));
        assertEquals(-1, Payloads.lenencSize(buf, 1, 3));
        assertEquals(-1, Payloads.lenencSize(buf, 1, 1));
        assertEquals(1, Payloads.lenencSize(buf, 4, 5));
        buf.release();
    }

    @Test
    void readsNulTerminatedStringsOneAfterAnother() {
        ByteBuf buf = Unpooled.wrappedBuffer(payload().nulString("root").nulString("").nulString("café").int1(0x2D).build());

        assertEquals("root", Payloads.readNulString(buf));
        assertEquals("", Payloads.readNulString(buf));
        assertEquals("café", Payloads.readNulString(buf));
        assertEquals(0x2D, buf.readUnsignedByte());
        buf.release();
    }

    @Test
    void rejectsAStringWithoutItsNulTerminator() {
        ByteBuf buf = Unpooled.wrappedBuffer(payload().string("root").build());

        assertThrows(MalformedPacketException.class, () -> Payloads.readNulString(buf));
        assertEquals(0, buf.readerIndex());
        buf.release();
    }

    @Test
    void writesAUtf8StringAndItsNulTerminator() {
        ByteBuf buf = Unpooled.buffer();
        try {
            Payloads.writeNulString(buf, "ü");

            assertArrayEquals(bytes(0xC3, 0xBC, 0x00), ByteBufUtil.getBytes(buf));
        } finally {
            buf.release();
        }
    }

    @Test
    void readsLenencStringsIncludingEmptyAndLongOnes() {
        String longName = "x".repeat(300);
        ByteBuf buf = Unpooled.wrappedBuffer(
                payload().lenencString("shop").lenencString("").lenencString(longName).int1(0x01).build());

        assertEquals("shop", Payloads.readLenencString(buf));
        assertEquals("", Payloads.readLenencString(buf));
        assertEquals(longName, Payloads.readLenencString(buf));
        assertEquals(0x01, buf.readUnsignedByte());
        buf.release();
    }

    @Test
    void writesLenencBytesThatReadBack() {
        byte[] data = TestPackets.pattern(70_000);
        ByteBuf buf = Unpooled.buffer();
        try {
            Payloads.writeLenencBytes(buf, data);

            assertEquals(0xFD, buf.getUnsignedByte(0));
            assertArrayEquals(data, Payloads.readLenencBytes(buf));
            assertFalse(buf.isReadable());
        } finally {
            buf.release();
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
            "05616263",                 // 5 bytes announced, 3 present
            "fc0001616263",             // 256 announced
            "fe0000000001000000",       // 2^32 announced: more than any packet
            "feffffffffffffffff",       // 2^64 - 1 announced: negative as a Java long
            "fe0000000000000080616263"  // 2^63 announced
    })
    void rejectsALenencStringThatOverrunsThePacket(String hex) {
        ByteBuf buf = Unpooled.wrappedBuffer(HexFormat.of().parseHex(hex));

        assertThrows(MalformedPacketException.class, () -> Payloads.readLenencString(buf));
        buf.release();
    }

    @Test
    void requireNamesTheMissingFieldWhenThePacketIsShort() {
        ByteBuf buf = Unpooled.wrappedBuffer(bytes(1, 2));

        Payloads.require(buf, 2, "status flags");
        MalformedPacketException e = assertThrows(MalformedPacketException.class,
                () -> Payloads.require(buf, 3, "status flags"));

        assertTrue(e.getMessage().contains("status flags"), e.getMessage());
        buf.release();
    }
}
