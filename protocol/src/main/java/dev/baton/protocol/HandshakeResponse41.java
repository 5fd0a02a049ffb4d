package dev.baton.protocol;

import io.netty.buffer.ByteBuf;

import static dev.baton.protocol.CapabilityFlags.CLIENT_CONNECT_WITH_DB;
import static dev.baton.protocol.CapabilityFlags.CLIENT_MYSQL;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PLUGIN_AUTH;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PROTOCOL_41;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SECURE_CONNECTION;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SSL;

/**
 * The client's answer to the greeting, Protocol::HandshakeResponse41
 * (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_packets_protocol_handshake_response.html),
 * or the shorter Protocol::SSLRequest. Baton reads who connects and what was negotiated; the auth data itself is
 * relayed untouched and never kept.
 */
public record HandshakeResponse41(int capabilities, long maxPacketSize, int characterSet, int mariadbCapabilities,
                                  String user, String database, String authPluginName, boolean sslRequest) {

    /** Length of an SSLRequest payload: capabilities, max packet size, charset and filler only. */
    public static final int SSL_REQUEST_LENGTH = 32;

    /** Offset of the capability flags within the payload, for in-place edits. */
    public static final int CAPABILITIES_OFFSET = 0;

    public static HandshakeResponse41 decode(ByteBuf payload) {
        Payloads.require(payload, 4, "client capability flags");
        int capabilities = payload.getIntLE(payload.readerIndex());
        if ((capabilities & CLIENT_PROTOCOL_41) == 0) {
            throw new MalformedPacketException("client does not speak protocol 4.1 (HandshakeResponse320 is not supported)");
        }
        Payloads.require(payload, SSL_REQUEST_LENGTH, "the end of the fixed handshake response fields");
        payload.skipBytes(4); // client_flag
        long maxPacket = payload.readUnsignedIntLE(); // max_packet_size
        int charset = payload.readUnsignedByte(); // character_set
        payload.skipBytes(19); // filler
        int extended = payload.readIntLE(); // MariaDB extended capabilities, else filler
        int mariadb = (capabilities & CLIENT_MYSQL) == 0 ? extended : 0;
        if (!payload.isReadable() && (capabilities & CLIENT_SSL) != 0) {
            return new HandshakeResponse41(capabilities, maxPacket, charset, mariadb, null, null, null, true);
        }
        String user = Payloads.readNulString(payload); // username
        if ((capabilities & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) != 0) {
            Payloads.readLenencBytes(payload); // auth_response
        } else if ((capabilities & CLIENT_SECURE_CONNECTION) != 0) {
            Payloads.require(payload, 1, "auth response length");
            int length = payload.readUnsignedByte();
            Payloads.require(payload, length, "auth response");
            payload.skipBytes(length);
        } else {
            Payloads.readNulBytes(payload);
        }
        String database = null;
        if ((capabilities & CLIENT_CONNECT_WITH_DB) != 0 && payload.isReadable()) {
            database = Payloads.readNulString(payload); // database
        }
        String plugin = null;
        if ((capabilities & CLIENT_PLUGIN_AUTH) != 0 && payload.isReadable()) {
            int nul = payload.indexOf(payload.readerIndex(), payload.writerIndex(), (byte) 0);
            plugin = nul < 0 ? payload.readCharSequence(payload.readableBytes(), java.nio.charset.StandardCharsets.UTF_8).toString()
                    : Payloads.readNulString(payload); // client_plugin_name
        }
        return new HandshakeResponse41(capabilities, maxPacket, charset, mariadb, user, database, plugin, false);
    }
}
