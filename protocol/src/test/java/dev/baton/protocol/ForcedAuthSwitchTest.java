package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.Test;

import static dev.baton.protocol.CapabilityFlags.CLIENT_CONNECT_ATTRS;
import static dev.baton.protocol.CapabilityFlags.CLIENT_CONNECT_WITH_DB;
import static dev.baton.protocol.CapabilityFlags.CLIENT_DEPRECATE_EOF;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PLUGIN_AUTH;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PROTOCOL_41;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SECURE_CONNECTION;
import static dev.baton.protocol.CapabilityFlags.MARIADB_CLIENT_STMT_BULK_OPERATIONS;
import static dev.baton.protocol.TestPackets.payload;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ForcedAuthSwitchTest {
    private static final byte[] AUTH = TestPackets.pattern(32);

    private static TestPackets.Writer fixedPart(int capabilities, int mariadb) {
        return payload().int4(capabilities).int4(0xFFFFFF).int1(45).zeros(19).int4(mariadb);
    }

    private static byte[] rewrite(byte[] response, int capabilities, int mariadb) {
        ByteBuf in = Unpooled.wrappedBuffer(response);
        ByteBuf out = ForcedAuthSwitch.handshakeResponse(in, capabilities, mariadb, UnpooledByteBufAllocator.DEFAULT);
        try {
            assertEquals(response.length, in.readableBytes(), "the original is not consumed");
            return ByteBufUtil.getBytes(out);
        } finally {
            out.release();
            in.release();
        }
    }

    @Test
    void emptiesTheAuthDataAndNamesAPluginNoAccountUsesKeepingDatabaseAndAttributes() {
        int caps = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
                | CLIENT_CONNECT_WITH_DB | CLIENT_CONNECT_ATTRS | CLIENT_DEPRECATE_EOF;
        byte[] attributes = payload().lenencString("_client_name").lenencString("libmariadb").build();
        byte[] original = fixedPart(caps, MARIADB_CLIENT_STMT_BULK_OPERATIONS).nulString("app")
                .lenenc(AUTH.length).bytes(AUTH).nulString("shop").nulString("client_ed25519")
                .lenenc(attributes.length).bytes(attributes).build();

        byte[] rewritten = rewrite(original, caps, MARIADB_CLIENT_STMT_BULK_OPERATIONS);

        assertArrayEquals(fixedPart(caps, MARIADB_CLIENT_STMT_BULK_OPERATIONS).nulString("app").int1(0).nulString("shop")
                .nulString("baton_auth_switch").lenenc(attributes.length).bytes(attributes).build(), rewritten);
    }

    @Test
    void writesTheGivenCapabilitiesAndAddsThePluginNameAClientLeftOut() {
        int caps = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_WITH_DB | CLIENT_DEPRECATE_EOF;
        byte[] original = fixedPart(caps, 0).nulString("root").int1(20).bytes(TestPackets.pattern(20)).nulString("").build();

        byte[] rewritten = rewrite(original, caps & ~CLIENT_DEPRECATE_EOF, 0);

        assertArrayEquals(fixedPart(caps & ~CLIENT_DEPRECATE_EOF, 0).nulString("root").int1(0).nulString("")
                .nulString("baton_auth_switch").build(), rewritten);
        HandshakeResponse41 decoded = HandshakeResponse41.decode(Unpooled.wrappedBuffer(rewritten));
        assertEquals("baton_auth_switch", decoded.authPluginName());
    }

    @Test
    void refusesAResponseThatEndsInsideItsAuthData() {
        int caps = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;
        byte[] original = fixedPart(caps, 0).nulString("app").lenenc(200).bytes(AUTH).build();

        assertThrows(MalformedPacketException.class, () -> rewrite(original, caps, 0));
    }
}
