package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

import static dev.baton.protocol.CapabilityFlags.CLIENT_SSL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SslRequestTest {

    @Test
    void writesTheThirtyTwoFixedBytesOfAConnectorJResponseWithClientSslSet() {
        // Connector/J's flags 0x01ffa68f without CLIENT_SSL (0x0800), max packet 16 MiB, utf8mb4 (255).
        ByteBuf payload = SslRequest.encode(ByteBufAllocator.DEFAULT, 0x01ffa68f, 0xFFFFFF, 255, 0);
        try {
            assertEquals("8faeff01" + "ffffff00" + "ff" + "00".repeat(19) + "00000000",
                    ByteBufUtil.hexDump(payload));
        } finally {
            payload.release();
        }
    }

    @Test
    void carriesMariadbExtendedCapabilitiesInTheLastFillerBytesWhenClientMysqlIsUnset() {
        ByteBuf payload = SslRequest.encode(ByteBufAllocator.DEFAULT, 0x0000a2be, 0x40000000, 45,
                CapabilityFlags.MARIADB_CLIENT_STMT_BULK_OPERATIONS | CapabilityFlags.MARIADB_CLIENT_EXTENDED_METADATA);
        try {
            assertEquals("beaa0000" + "00000040" + "2d" + "00".repeat(19) + "0c000000",
                    ByteBufUtil.hexDump(payload));
        } finally {
            payload.release();
        }
    }

    @Test
    void isReadByTheHandshakeResponseDecoderAsAnSslRequestWithTheResponsesFields() {
        byte[] response = TestPackets.payload()
                .int4(0x01ffa68f).int4(0xFFFFFF).int1(33).zeros(19).int4(0)
                .nulString("app").int1(20).bytes(TestPackets.pattern(20)).nulString("mysql_native_password")
                .build();
        ByteBuf request = SslRequest.forResponse(ByteBufAllocator.DEFAULT, Unpooled.wrappedBuffer(response));
        try {
            HandshakeResponse41 decoded = HandshakeResponse41.decode(request);
            assertTrue(decoded.sslRequest());
            assertEquals(0x01ffa68f | CLIENT_SSL, decoded.capabilities());
            assertEquals(0xFFFFFF, decoded.maxPacketSize());
            assertEquals(33, decoded.characterSet());
        } finally {
            request.release();
        }
    }
}
