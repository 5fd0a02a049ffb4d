package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static dev.baton.protocol.CapabilityFlags.CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS;
import static dev.baton.protocol.CapabilityFlags.CLIENT_CONNECT_ATTRS;
import static dev.baton.protocol.CapabilityFlags.CLIENT_CONNECT_WITH_DB;
import static dev.baton.protocol.CapabilityFlags.CLIENT_DEPRECATE_EOF;
import static dev.baton.protocol.CapabilityFlags.CLIENT_LOCAL_FILES;
import static dev.baton.protocol.CapabilityFlags.CLIENT_LONG_FLAG;
import static dev.baton.protocol.CapabilityFlags.CLIENT_MULTI_RESULTS;
import static dev.baton.protocol.CapabilityFlags.CLIENT_MYSQL;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PLUGIN_AUTH;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PROTOCOL_41;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PS_MULTI_RESULTS;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SECURE_CONNECTION;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SESSION_TRACK;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SSL;
import static dev.baton.protocol.CapabilityFlags.CLIENT_TRANSACTIONS;
import static dev.baton.protocol.CapabilityFlags.MARIADB_CLIENT_EXTENDED_METADATA;
import static dev.baton.protocol.CapabilityFlags.MARIADB_CLIENT_STMT_BULK_OPERATIONS;
import static dev.baton.protocol.TestPackets.payload;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HandshakeResponse41Test {
    private static final int CONNECTOR_J_CAPS = CLIENT_MYSQL | CLIENT_LONG_FLAG | CLIENT_CONNECT_WITH_DB
            | CLIENT_LOCAL_FILES | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION
            | CLIENT_MULTI_RESULTS | CLIENT_PS_MULTI_RESULTS | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS
            | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS | CLIENT_SESSION_TRACK
            | CLIENT_DEPRECATE_EOF;
    private static final byte[] SCRAMBLED_PASSWORD = TestPackets.pattern(20);

    /** The fixed part every response starts with, also the whole of an SSLRequest. */
    private static TestPackets.Writer fixedPart(int capabilities, int extendedCapabilities) {
        return payload()
                .int4(capabilities) // client_flag
                .int4(0xFFFFFF) // max_packet_size
                .int1(255) // character_set: utf8mb4_0900_ai_ci
                .zeros(19) // filler
                .int4(extendedCapabilities); // MariaDB extended capabilities, else filler
    }

    /** What Connector/J sends: lenenc auth response, a database, the plugin, then connection attributes. */
    private static byte[] connectorJResponse() {
        byte[] attributes = payload()
                .lenencString("_client_name").lenencString("MySQL Connector/J")
                .lenencString("_client_version").lenencString("9.5.0")
                .lenencString("_os").lenencString("Linux")
                .build();
        return fixedPart(CONNECTOR_J_CAPS, 0)
                .nulString("app") // username
                .lenenc(SCRAMBLED_PASSWORD.length).bytes(SCRAMBLED_PASSWORD) // auth_response
                .nulString("shop") // database
                .nulString("mysql_native_password") // client_plugin_name
                .lenenc(attributes.length).bytes(attributes) // connection attributes
                .build();
    }

    @Test
    void readsUserDatabaseAndPluginOfAConnectorJResponse() {
        HandshakeResponse41 response = decode(connectorJResponse());

        assertEquals("app", response.user());
        assertEquals("shop", response.database());
        assertEquals("mysql_native_password", response.authPluginName());
        assertEquals(CONNECTOR_J_CAPS, response.capabilities());
        assertEquals(0xFFFFFF, response.maxPacketSize());
        assertEquals(255, response.characterSet());
        assertEquals(0, response.mariadbCapabilities());
        assertFalse(response.sslRequest());
    }

    @Test
    void readsAResponseWithAOneByteAuthLengthAndNoDatabase() {
        int caps = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | CLIENT_TRANSACTIONS;
        byte[] payload = fixedPart(caps, 0)
                .nulString("root")
                .int1(SCRAMBLED_PASSWORD.length).bytes(SCRAMBLED_PASSWORD)
                .nulString("mysql_native_password")
                .build();

        HandshakeResponse41 response = decode(payload);

        assertEquals("root", response.user());
        assertNull(response.database());
        assertEquals("mysql_native_password", response.authPluginName());
    }

    @Test
    void readsAnEmptyPasswordAndAPluginNameWithoutItsNul() {
        int caps = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_WITH_DB;
        byte[] payload = fixedPart(caps, 0)
                .nulString("guest").int1(0).nulString("test").string("mysql_native_password")
                .build();

        HandshakeResponse41 response = decode(payload);

        assertEquals("guest", response.user());
        assertEquals("test", response.database());
        assertEquals("mysql_native_password", response.authPluginName());
    }

    @Test
    void readsMariaDbExtendedCapabilitiesWhenClientMysqlIsUnset() {
        int caps = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH;
        int extended = MARIADB_CLIENT_STMT_BULK_OPERATIONS | MARIADB_CLIENT_EXTENDED_METADATA;
        byte[] payload = fixedPart(caps, extended)
                .nulString("app").int1(SCRAMBLED_PASSWORD.length).bytes(SCRAMBLED_PASSWORD)
                .nulString("mysql_native_password")
                .build();

        assertEquals(extended, decode(payload).mariadbCapabilities());
    }

    @Test
    void ignoresTheLastFillerBytesOfAMySqlClient() {
        byte[] payload = fixedPart(CONNECTOR_J_CAPS, 0x1234)
                .nulString("app").lenenc(0).nulString("shop").nulString("mysql_native_password")
                .build();

        assertEquals(0, decode(payload).mariadbCapabilities());
    }

    @Test
    void recognisesAnSslRequest() {
        byte[] payload = fixedPart(CONNECTOR_J_CAPS | CLIENT_SSL, 0).build();
        assertEquals(HandshakeResponse41.SSL_REQUEST_LENGTH, payload.length);

        HandshakeResponse41 response = decode(payload);

        assertTrue(response.sslRequest());
        assertNull(response.user());
        assertEquals(CONNECTOR_J_CAPS | CLIENT_SSL, response.capabilities());
    }

    @Test
    void rejectsTheFixedPartAloneWithoutClientSsl() {
        byte[] payload = fixedPart(CONNECTOR_J_CAPS, 0).build();

        assertThrows(MalformedPacketException.class, () -> decode(payload));
    }

    @Test
    void rejectsAPre41Response() {
        byte[] payload = connectorJResponse();
        payload[1] &= (byte) ~(CLIENT_PROTOCOL_41 >>> 8);

        MalformedPacketException e = assertThrows(MalformedPacketException.class, () -> decode(payload));

        assertTrue(e.getMessage().contains("4.1"), e.getMessage());
    }

    @Test
    void rejectsAResponseCutAnywhereBeforeTheEndOfItsAuthResponse() {
        byte[] original = connectorJResponse();
        int endOfAuth = HandshakeResponse41.SSL_REQUEST_LENGTH + "app".length() + 1 + 1 + SCRAMBLED_PASSWORD.length;
        for (int cut = 0; cut < endOfAuth; cut++) {
            byte[] truncated = Arrays.copyOf(original, cut);
            assertThrows(MalformedPacketException.class, () -> decode(truncated), "cut after " + cut + " bytes");
        }
    }

    @Test
    void rejectsADatabaseNameWithoutItsNul() {
        byte[] payload = fixedPart(CONNECTOR_J_CAPS, 0).nulString("app").lenenc(0).string("shop").build();

        assertThrows(MalformedPacketException.class, () -> decode(payload));
    }

    @Test
    void rejectsAOneByteAuthLengthThatOverrunsThePacket() {
        int caps = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION;
        byte[] payload = fixedPart(caps, 0).nulString("root").int1(20).bytes(new byte[5]).build();

        assertThrows(MalformedPacketException.class, () -> decode(payload));
    }

    @Test
    void rejectsALenencAuthLengthBeyondAnyPacket() {
        byte[] payload = fixedPart(CONNECTOR_J_CAPS, 0).nulString("app").lenenc(-1).bytes(new byte[20]).build();

        assertThrows(MalformedPacketException.class, () -> decode(payload));
    }

    private static HandshakeResponse41 decode(byte[] payload) {
        ByteBuf buf = Unpooled.wrappedBuffer(payload);
        try {
            return HandshakeResponse41.decode(buf);
        } finally {
            buf.release();
        }
    }
}
