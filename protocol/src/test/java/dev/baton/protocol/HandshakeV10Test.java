package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static dev.baton.protocol.CapabilityFlags.CLIENT_COMPRESS;
import static dev.baton.protocol.CapabilityFlags.CLIENT_DEPRECATE_EOF;
import static dev.baton.protocol.CapabilityFlags.CLIENT_MULTI_RESULTS;
import static dev.baton.protocol.CapabilityFlags.CLIENT_MYSQL;
import static dev.baton.protocol.CapabilityFlags.CLIENT_OPTIONAL_RESULTSET_METADATA;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PLUGIN_AUTH;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PROTOCOL_41;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SECURE_CONNECTION;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SESSION_TRACK;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SSL;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SSL_VERIFY_SERVER_CERT;
import static dev.baton.protocol.CapabilityFlags.CLIENT_ZSTD_COMPRESSION_ALGORITHM;
import static dev.baton.protocol.CapabilityFlags.MARIADB_CLIENT_CACHE_METADATA;
import static dev.baton.protocol.CapabilityFlags.MARIADB_CLIENT_EXTENDED_METADATA;
import static dev.baton.protocol.CapabilityFlags.MARIADB_CLIENT_PROGRESS;
import static dev.baton.protocol.CapabilityFlags.MARIADB_CLIENT_STMT_BULK_OPERATIONS;
import static dev.baton.protocol.CapabilityFlags.UNSUPPORTED;
import static dev.baton.protocol.CapabilityFlags.UNSUPPORTED_MARIADB;
import static dev.baton.protocol.TestPackets.payload;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HandshakeV10Test {
    private static final String MARIADB_VERSION = "5.5.5-10.11.19-MariaDB-0+deb12u1";
    private static final byte[] SCRAMBLE_1 = "'4Nv,U#p".getBytes();
    private static final byte[] SCRAMBLE_2 = "kT6d]W/A\"Fq=".getBytes();
    /** MariaDB clears CLIENT_MYSQL (bit 0) and offers TLS and compression. */
    private static final int MARIADB_CAPS = 0x81FF_FFFE;
    private static final int MARIADB_EXT_CAPS = MARIADB_CLIENT_PROGRESS | MARIADB_CLIENT_STMT_BULK_OPERATIONS
            | MARIADB_CLIENT_EXTENDED_METADATA | MARIADB_CLIENT_CACHE_METADATA;
    /** Offset just after capability_flags_1, where a pre-4.1 greeting may end. */
    private static final int END_OF_SHORT_GREETING = 1 + MARIADB_VERSION.length() + 1 + 4 + 8 + 1 + 2;
    /** Offset of auth_plugin_name in the MariaDB greeting. */
    private static final int PLUGIN_NAME_OFFSET = END_OF_SHORT_GREETING + 16 + 13;

    /** Protocol::HandshakeV10 as a MariaDB 10.11 server sends it, MariaDB's extended capabilities included. */
    private static byte[] mariadbGreeting() {
        return payload()
                .int1(10) // protocol_version
                .nulString(MARIADB_VERSION) // server_version
                .int4(0x0001_E240) // thread_id
                .bytes(SCRAMBLE_1) // auth-plugin-data-part-1
                .int1(0) // filler
                .int2(MARIADB_CAPS & 0xFFFF) // capability_flags_1
                .int1(45) // character_set: utf8mb4_general_ci
                .int2(StatusFlags.SERVER_STATUS_AUTOCOMMIT) // status_flags
                .int2(MARIADB_CAPS >>> 16) // capability_flags_2
                .int1(21) // auth_plugin_data_len
                .zeros(6) // reserved
                .int4(MARIADB_EXT_CAPS) // MariaDB extended capabilities
                .bytes(SCRAMBLE_2).int1(0) // auth-plugin-data-part-2, 13 bytes with its NUL
                .nulString("mysql_native_password") // auth_plugin_name
                .build();
    }

    /** A MySQL 8.0 greeting: CLIENT_MYSQL set, ten reserved zero bytes, caching_sha2_password. */
    private static byte[] mysqlGreeting() {
        return payload()
                .int1(10).nulString("8.0.36").int4(9).bytes(SCRAMBLE_1).int1(0)
                .int2(0xFFFF).int1(255).int2(StatusFlags.SERVER_STATUS_AUTOCOMMIT).int2(0xDFFF)
                .int1(21).zeros(10).bytes(SCRAMBLE_2).int1(0)
                .nulString("caching_sha2_password")
                .build();
    }

    @Test
    void readsEveryFieldOfAMariaDbGreeting() {
        HandshakeV10 greeting = decode(mariadbGreeting());

        assertEquals(10, greeting.protocolVersion());
        assertEquals(MARIADB_VERSION, greeting.serverVersion());
        assertEquals(123_456, greeting.connectionId());
        assertArrayEquals(SCRAMBLE_1, greeting.authPluginDataPart1());
        assertEquals(MARIADB_CAPS, greeting.capabilities());
        assertEquals(45, greeting.characterSet());
        assertEquals(StatusFlags.SERVER_STATUS_AUTOCOMMIT, greeting.statusFlags());
        assertEquals(21, greeting.authPluginDataLength());
        assertEquals(MARIADB_EXT_CAPS, greeting.mariadbCapabilities());
        assertArrayEquals(Arrays.copyOf(SCRAMBLE_2, 13), greeting.authPluginDataPart2());
        assertEquals("mysql_native_password", greeting.authPluginName());
    }

    @Test
    void reEncodesAMariaDbGreetingByteForByte() {
        byte[] original = mariadbGreeting();

        assertArrayEquals(original, encode(decode(original)));
    }

    @Test
    void removesTlsCompressionAndMetadataCachingButKeepsEverythingElse() {
        HandshakeV10 greeting = decode(mariadbGreeting());

        HandshakeV10 offered = decode(encode(greeting.withoutCapabilities(UNSUPPORTED, UNSUPPORTED_MARIADB)));

        assertEquals(0, offered.capabilities() & (CLIENT_SSL | CLIENT_COMPRESS));
        assertEquals(MARIADB_CAPS & ~(CLIENT_SSL | CLIENT_COMPRESS), offered.capabilities());
        assertEquals(0, offered.mariadbCapabilities() & MARIADB_CLIENT_CACHE_METADATA);
        assertEquals(MARIADB_CLIENT_STMT_BULK_OPERATIONS | MARIADB_CLIENT_EXTENDED_METADATA,
                offered.mariadbCapabilities());
        assertEquals(MARIADB_VERSION, offered.serverVersion());
        assertEquals(greeting.connectionId(), offered.connectionId());
        assertArrayEquals(SCRAMBLE_1, offered.authPluginDataPart1());
        assertArrayEquals(greeting.authPluginDataPart2(), offered.authPluginDataPart2());
        assertEquals("mysql_native_password", offered.authPluginName());
        assertEquals(MARIADB_CAPS, greeting.capabilities(), "the original greeting is unchanged");
    }

    @Test
    void changesOnlyTheCapabilityBytesWhenItRemovesCapabilities() {
        byte[] original = mariadbGreeting();

        byte[] offered = encode(decode(original).withoutCapabilities(UNSUPPORTED, UNSUPPORTED_MARIADB));

        int capsLow = END_OF_SHORT_GREETING - 2;
        int capsHigh = END_OF_SHORT_GREETING + 3;
        int extCaps = END_OF_SHORT_GREETING + 12;
        assertEquals(original.length, offered.length);
        for (int i = 0; i < original.length; i++) {
            boolean capabilityByte = i == capsLow || i == capsLow + 1 || i == capsHigh || i == capsHigh + 1
                    || (i >= extCaps && i < extCaps + 4);
            if (!capabilityByte) {
                assertEquals(original[i], offered[i], "byte " + i);
            }
        }
    }

    @Test
    void readsAMySql8GreetingWithoutMariaDbCapabilities() {
        byte[] original = mysqlGreeting();

        HandshakeV10 greeting = decode(original);

        assertEquals("8.0.36", greeting.serverVersion());
        assertEquals(0xDFFF_FFFF, greeting.capabilities());
        assertTrue((greeting.capabilities() & CLIENT_MYSQL) != 0);
        assertEquals(0, greeting.mariadbCapabilities());
        assertEquals(255, greeting.characterSet());
        assertEquals("caching_sha2_password", greeting.authPluginName());
        assertArrayEquals(original, encode(greeting));
    }

    @Test
    void removesWhatBatonCannotHonourFromAMySql8Greeting() {
        HandshakeV10 offered = decode(mysqlGreeting()).withoutCapabilities(UNSUPPORTED, UNSUPPORTED_MARIADB);

        int removed = CLIENT_SSL | CLIENT_COMPRESS | CLIENT_ZSTD_COMPRESSION_ALGORITHM
                | CLIENT_OPTIONAL_RESULTSET_METADATA | CLIENT_SSL_VERIFY_SERVER_CERT;
        assertEquals(0xDFFF_FFFF & ~removed, offered.capabilities());
        int kept = CLIENT_MYSQL | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH
                | CLIENT_MULTI_RESULTS | CLIENT_SESSION_TRACK | CLIENT_DEPRECATE_EOF;
        assertEquals(kept, offered.capabilities() & kept);
    }

    @Test
    void acceptsAPluginNameWithoutItsFinalNul() {
        byte[] original = mariadbGreeting();

        HandshakeV10 greeting = decode(Arrays.copyOf(original, original.length - 1));

        assertEquals("mysql_native_password", greeting.authPluginName());
    }

    @Test
    void acceptsAGreetingThatEndsAfterTheLowCapabilityFlags() {
        HandshakeV10 greeting = decode(Arrays.copyOf(mariadbGreeting(), END_OF_SHORT_GREETING));

        assertEquals(MARIADB_CAPS & 0xFFFF, greeting.capabilities());
        assertNull(greeting.authPluginName());
    }

    @Test
    void reEncodesAGreetingThatEndsAfterTheLowCapabilityFlagsAsOneItCanReadBack() {
        HandshakeV10 shortGreeting = decode(Arrays.copyOf(mariadbGreeting(), END_OF_SHORT_GREETING));
        ByteBuf out = Unpooled.buffer();
        try {
            shortGreeting.encode(out);
            byte[] encoded = new byte[out.readableBytes()];
            out.getBytes(0, encoded);

            HandshakeV10 readBack = assertDoesNotThrow(() -> decode(encoded));
            assertEquals(shortGreeting.capabilities(), readBack.capabilities());
            assertEquals(13, readBack.authPluginDataPart2().length);
        } finally {
            out.release();
        }
    }

    @Test
    void rejectsAnyOtherProtocolVersion() {
        byte[] greeting = mariadbGreeting();
        greeting[0] = 9;

        MalformedPacketException e = assertThrows(MalformedPacketException.class, () -> decode(greeting));

        assertTrue(e.getMessage().contains("9"), e.getMessage());
    }

    @Test
    void rejectsAnErrPacketSentInPlaceOfTheGreeting() {
        byte[] err = TestPackets.err(1130, "HY000", "Host '10.0.0.7' is not allowed to connect to this MariaDB server");

        assertThrows(MalformedPacketException.class, () -> decode(err));
    }

    @Test
    void rejectsAGreetingCutAnywhereBeforeTheAuthPluginName() {
        byte[] original = mariadbGreeting();
        for (int cut = 0; cut < PLUGIN_NAME_OFFSET; cut++) {
            byte[] truncated = Arrays.copyOf(original, cut);
            if (cut == END_OF_SHORT_GREETING) {
                assertDoesNotThrow(() -> decode(truncated), "a pre-4.1 greeting ends here");
            } else {
                assertThrows(MalformedPacketException.class, () -> decode(truncated), "cut after " + cut + " bytes");
            }
        }
    }

    private static HandshakeV10 decode(byte[] payload) {
        ByteBuf buf = Unpooled.wrappedBuffer(payload);
        try {
            return HandshakeV10.decode(buf);
        } finally {
            buf.release();
        }
    }

    private static byte[] encode(HandshakeV10 greeting) {
        ByteBuf out = Unpooled.buffer();
        try {
            greeting.encode(out);
            return ByteBufUtil.getBytes(out);
        } finally {
            out.release();
        }
    }
}
