package dev.baton.protocol;

import io.netty.buffer.ByteBuf;

import java.nio.charset.StandardCharsets;

import static dev.baton.protocol.CapabilityFlags.CLIENT_MYSQL;
import static dev.baton.protocol.CapabilityFlags.CLIENT_PLUGIN_AUTH;
import static dev.baton.protocol.CapabilityFlags.CLIENT_SECURE_CONNECTION;

/**
 * The server greeting, Protocol::HandshakeV10
 * (https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase_packets_protocol_handshake_v10.html),
 * with MariaDB's extended capabilities in the reserved bytes (https://mariadb.com/kb/en/connection/#initial-handshake-packet).
 * Baton decodes it to learn the server's capabilities and re-encodes it without the ones it cannot honour.
 */
public record HandshakeV10(
        int protocolVersion,
        String serverVersion,
        long connectionId,
        byte[] authPluginDataPart1,
        int capabilities,
        int characterSet,
        int statusFlags,
        int authPluginDataLength,
        int mariadbCapabilities,
        byte[] authPluginDataPart2,
        String authPluginName) {

    /** Server version Baton announces when it must greet a client itself, before it refuses it. */
    public static final String BATON_SERVER_VERSION = "5.5.5-10.11.0-Baton";

    /**
     * A greeting of Baton's own, for a client Baton is about to refuse: answering its handshake response with an
     * ERR lets every client read the error's SQL state (clients ignore the state of an ERR sent before a greeting).
     */
    public static HandshakeV10 ofBaton(long connectionId, byte[] scramble20) {
        if (scramble20.length != 20) {
            throw new IllegalArgumentException("scramble must have 20 bytes");
        }
        int capabilities = CLIENT_MYSQL | CapabilityFlags.CLIENT_LONG_FLAG | CapabilityFlags.CLIENT_CONNECT_WITH_DB
                | CapabilityFlags.CLIENT_PROTOCOL_41 | CapabilityFlags.CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION
                | CapabilityFlags.CLIENT_MULTI_RESULTS | CLIENT_PLUGIN_AUTH | CapabilityFlags.CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;
        byte[] part1 = java.util.Arrays.copyOfRange(scramble20, 0, 8);
        byte[] part2 = java.util.Arrays.copyOf(java.util.Arrays.copyOfRange(scramble20, 8, 20), 13);
        return new HandshakeV10(10, BATON_SERVER_VERSION, connectionId, part1, capabilities, 45,
                StatusFlags.SERVER_STATUS_AUTOCOMMIT, 21, 0, part2, "mysql_native_password");
    }

    public static HandshakeV10 decode(ByteBuf payload) {
        Payloads.require(payload, 1, "protocol version");
        int protocolVersion = payload.readUnsignedByte(); // protocol_version
        if (protocolVersion != 10) {
            throw new MalformedPacketException("server greeting has protocol version " + protocolVersion + ", expected 10");
        }
        String serverVersion = Payloads.readNulString(payload); // server_version
        Payloads.require(payload, 4 + 8 + 1 + 2, "capability flags");
        long connectionId = payload.readUnsignedIntLE(); // thread_id
        byte[] part1 = new byte[8];
        payload.readBytes(part1); // auth-plugin-data-part-1
        payload.skipBytes(1); // filler
        int capabilities = payload.readUnsignedShortLE(); // capability_flags_1
        int charset = 0;
        int status = 0;
        int authDataLength = 0;
        int mariadbCapabilities = 0;
        byte[] part2 = new byte[0];
        String plugin = null;
        if (payload.isReadable()) {
            Payloads.require(payload, 1 + 2 + 2 + 1 + 10, "extended capability flags");
            charset = payload.readUnsignedByte(); // character_set
            status = payload.readUnsignedShortLE(); // status_flags
            capabilities |= payload.readUnsignedShortLE() << 16; // capability_flags_2
            authDataLength = payload.readUnsignedByte(); // auth_plugin_data_len
            payload.skipBytes(6); // reserved
            int extended = payload.readIntLE(); // MariaDB: extended capabilities, else reserved
            if ((capabilities & CLIENT_MYSQL) == 0) {
                mariadbCapabilities = extended;
            }
            if ((capabilities & CLIENT_SECURE_CONNECTION) != 0) {
                int length = Math.max(13, authDataLength - 8);
                Payloads.require(payload, length, "auth-plugin-data-part-2");
                part2 = new byte[length];
                payload.readBytes(part2); // auth-plugin-data-part-2
            }
            if ((capabilities & CLIENT_PLUGIN_AUTH) != 0) {
                int nul = payload.indexOf(payload.readerIndex(), payload.writerIndex(), (byte) 0);
                int end = nul < 0 ? payload.writerIndex() : nul; // some servers omit the final NUL
                plugin = payload.toString(payload.readerIndex(), end - payload.readerIndex(), StandardCharsets.UTF_8);
                payload.readerIndex(nul < 0 ? end : end + 1);
            }
        }
        return new HandshakeV10(protocolVersion, serverVersion, connectionId, part1, capabilities, charset, status,
                authDataLength, mariadbCapabilities, part2, plugin);
    }

    /** The same greeting without the given capabilities, standard and MariaDB-extended. */
    public HandshakeV10 withoutCapabilities(int standard, int mariadb) {
        return new HandshakeV10(protocolVersion, serverVersion, connectionId, authPluginDataPart1,
                capabilities & ~standard, characterSet, statusFlags, authPluginDataLength,
                mariadbCapabilities & ~mariadb, authPluginDataPart2, authPluginName);
    }

    public void encode(ByteBuf out) {
        out.writeByte(protocolVersion);
        Payloads.writeNulString(out, serverVersion);
        out.writeIntLE((int) connectionId);
        out.writeBytes(authPluginDataPart1);
        out.writeByte(0);
        out.writeShortLE(capabilities & 0xFFFF);
        out.writeByte(characterSet);
        out.writeShortLE(statusFlags);
        out.writeShortLE(capabilities >>> 16);
        out.writeByte(authPluginDataLength);
        out.writeZero(6);
        out.writeIntLE((capabilities & CLIENT_MYSQL) == 0 ? mariadbCapabilities : 0);
        if ((capabilities & CLIENT_SECURE_CONNECTION) != 0) {
            // As long as a reader expects: a greeting that ended after capability_flags_1 had no part 2 at all.
            int length = Math.max(13, authPluginDataLength - 8);
            int have = Math.min(length, authPluginDataPart2.length);
            out.writeBytes(authPluginDataPart2, 0, have).writeZero(length - have);
        }
        if ((capabilities & CLIENT_PLUGIN_AUTH) != 0) {
            Payloads.writeNulString(out, authPluginName == null ? "" : authPluginName);
        }
    }
}
