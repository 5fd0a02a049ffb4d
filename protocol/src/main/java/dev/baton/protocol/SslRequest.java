package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Protocol::SSLRequest
 * (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_packets_protocol_ssl_request.html,
 * https://mariadb.com/kb/en/connection/#sslrequest-packet): the fixed first 32 bytes of a HandshakeResponse41 with
 * CLIENT_SSL set, sent in the clear at sequence id 1 before the TLS handshake; the full handshake response follows
 * inside TLS at sequence id 2. Baton sends one when it opens TLS to a server.
 */
public final class SslRequest {

    private SslRequest() {
    }

    /**
     * The SSLRequest payload for a client with these fields.
     *
     * @param mariadbCapabilities MariaDB extended capabilities, written in the last filler bytes only when
     *                            {@code capabilities} lacks CLIENT_MYSQL (as in the handshake response that follows)
     */
    public static ByteBuf encode(ByteBufAllocator alloc, int capabilities, long maxPacketSize, int characterSet,
                                 int mariadbCapabilities) {
        ByteBuf payload = alloc.buffer(HandshakeResponse41.SSL_REQUEST_LENGTH);
        payload.writeIntLE(capabilities | CapabilityFlags.CLIENT_SSL); // client_flag
        payload.writeIntLE((int) maxPacketSize); // max_packet_size
        payload.writeByte(characterSet); // character_set
        payload.writeZero(19); // filler
        // MariaDB: extended client capabilities when CLIENT_MYSQL is unset; else filler
        payload.writeIntLE((capabilities & CapabilityFlags.CLIENT_MYSQL) == 0 ? mariadbCapabilities : 0);
        return payload;
    }

    /**
     * The SSLRequest that goes before {@code response} (a HandshakeResponse41 payload, not consumed): its own
     * capabilities (plus CLIENT_SSL), max packet size, character set and MariaDB extended capabilities.
     */
    public static ByteBuf forResponse(ByteBufAllocator alloc, ByteBuf response) {
        Payloads.require(response, HandshakeResponse41.SSL_REQUEST_LENGTH, "the fixed handshake response fields");
        int at = response.readerIndex();
        return encode(alloc, response.getIntLE(at), response.getUnsignedIntLE(at + 4), response.getUnsignedByte(at + 8),
                response.getIntLE(at + 28));
    }
}
