package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;

import java.util.HexFormat;

/**
 * Whole packets (header and payload) captured from MariaDB 10.11.19 on a connection that ran Baton's
 * {@code SET SESSION session_track_system_variables='*', session_track_schema=ON, session_track_state_change=ON}
 * first. {@code TRACKED_*}: the client negotiated CLIENT_SESSION_TRACK and CLIENT_DEPRECATE_EOF; {@code PLAIN_*}:
 * the same statement on a connection with CLIENT_DEPRECATE_EOF only, i.e. what a client without tracking receives.
 */
final class MariaDbSessionPackets {
    /** The response to Baton's own SET of the three session_track_* variables. */
    static final String TRACKED_BATON_SET = "6900000100000002400000006000211e73657373696f6e5f747261636b5f73797374656d5f7661726961626c6573012a001e1a"
            + "73657373696f6e5f747261636b5f73746174655f6368616e6765024f4e00181473657373696f6e5f747261636b5f736368656d61024f4e020131";
    /** {@code SET @x=1}: a state change alone. */
    static final String TRACKED_SET_USER_VARIABLE = "0c000001000000024000000003020131";
    static final String PLAIN_SET_USER_VARIABLE = "0700000100000002000000";
    /** {@code PREPARE p FROM 'SELECT 1'}: an info string and a state change. */
    static final String TRACKED_PREPARE = "1e000001000000024000001253746174656d656e7420707265706172656403020131";
    static final String PLAIN_PREPARE = "1a000001000000020000001253746174656d656e74207072657061726564";
    /** {@code SET STATEMENT sql_mode='' FOR SELECT 1}: the 0xFE OK ending the result set (sequence id 4). */
    static final String TRACKED_SET_STATEMENT_END = "18000004fe000002400000000f000a0873716c5f6d6f646500020131";
    static final String PLAIN_SET_STATEMENT_END = "07000004fe000002000000";
    /** {@code USE d1}. */
    static final String TRACKED_USE = "110000010000000240000000080103026431020131";
    static final String PLAIN_USE = "0700000100000002000000";
    /** {@code SET @x=1, autocommit=0}: the user variable is not reported, only autocommit and a state change. */
    static final String TRACKED_USER_VARIABLE_AND_AUTOCOMMIT = "1d000001000000004000000014000f0a6175746f636f6d6d6974034f4646020131";
    static final String PLAIN_USER_VARIABLE_AND_AUTOCOMMIT = "0700000100000000000000";
    /**
     * {@code SET NAMES latin1} right after the SET STATEMENT above: the sql_mode that SET STATEMENT restored is
     * reported here, one statement late.
     */
    static final String TRACKED_SET_NAMES = "d00000010000000240000000c70020186368617261637465725f7365745f636f6e6e656374696f6e066c6174696e310063087371"
            + "6c5f6d6f6465595354524943545f5452414e535f5441424c45532c4552524f525f464f525f4449564953494f4e5f42595f5a4552"
            + "4f2c4e4f5f4155544f5f4352454154455f555345522c4e4f5f454e47494e455f535542535449545554494f4e001c146368617261"
            + "637465725f7365745f636c69656e74066c6174696e31001d156368617261637465725f7365745f726573756c7473066c6174696e"
            + "31020131";
    static final String PLAIN_SET_NAMES = "0700000100000002000000";
    /** {@code SET SESSION optimizer_switch='index_merge=off'}: 885 bytes, longer than the 512 head bytes Baton sees. */
    static final String TRACKED_OPTIMIZER_SWITCH = "750300010000000040000000fc6a0300fc6303106f7074696d697a65725f737769746368fc4f03696e6465785f6d657267653d6f"
            + "66662c696e6465785f6d657267655f756e696f6e3d6f6e2c696e6465785f6d657267655f736f72745f756e696f6e3d6f6e2c696e"
            + "6465785f6d657267655f696e74657273656374696f6e3d6f6e2c696e6465785f6d657267655f736f72745f696e74657273656374"
            + "696f6e3d6f66662c656e67696e655f636f6e646974696f6e5f70757368646f776e3d6f66662c696e6465785f636f6e646974696f"
            + "6e5f70757368646f776e3d6f6e2c646572697665645f6d657267653d6f6e2c646572697665645f776974685f6b6579733d6f6e2c"
            + "66697273746d617463683d6f6e2c6c6f6f73657363616e3d6f6e2c6d6174657269616c697a6174696f6e3d6f6e2c696e5f746f5f"
            + "6578697374733d6f6e2c73656d696a6f696e3d6f6e2c7061727469616c5f6d617463685f726f7769645f6d657267653d6f6e2c70"
            + "61727469616c5f6d617463685f7461626c655f7363616e3d6f6e2c73756271756572795f63616368653d6f6e2c6d72723d6f6666"
            + "2c6d72725f636f73745f62617365643d6f66662c6d72725f736f72745f6b6579733d6f66662c6f757465725f6a6f696e5f776974"
            + "685f63616368653d6f6e2c73656d696a6f696e5f776974685f63616368653d6f6e2c6a6f696e5f63616368655f696e6372656d65"
            + "6e74616c3d6f6e2c6a6f696e5f63616368655f6861736865643d6f6e2c6a6f696e5f63616368655f626b613d6f6e2c6f7074696d"
            + "697a655f6a6f696e5f6275666665725f73697a653d6f6e2c7461626c655f656c696d696e6174696f6e3d6f6e2c657874656e6465"
            + "645f6b6579733d6f6e2c6578697374735f746f5f696e3d6f6e2c6f7264657262795f757365735f657175616c69746965733d6f6e"
            + "2c636f6e646974696f6e5f70757368646f776e5f666f725f646572697665643d6f6e2c73706c69745f6d6174657269616c697a65"
            + "643d6f6e2c636f6e646974696f6e5f70757368646f776e5f666f725f73756271756572793d6f6e2c726f7769645f66696c746572"
            + "3d6f6e2c636f6e646974696f6e5f70757368646f776e5f66726f6d5f686176696e673d6f6e2c6e6f745f6e756c6c5f72616e6765"
            + "5f7363616e3d6f66662c686173685f6a6f696e5f63617264696e616c6974793d6f66662c637365745f6e6172726f77696e673d6f"
            + "6666020131";
    static final String PLAIN_OPTIMIZER_SWITCH = "0700000100000000000000";
    /** {@code SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED}: reported as tx_isolation. */
    static final String TRACKED_ISOLATION = "2a000001000000024000000021001c0c74785f69736f6c6174696f6e0e524541442d434f4d4d4954544544020131";
    /** {@code SET character_set_results=NULL}: the NULL arrives as an empty value. */
    static final String TRACKED_RESULTS_NULL = "2500000100000002400000001c0017156368617261637465725f7365745f726573756c747300020131";
    /** {@code SET max_statement_time=1.5}. */
    static final String TRACKED_MAX_STATEMENT_TIME = "2a000001000000024000000021001c126d61785f73746174656d656e745f74696d6508312e353030303030020131";
    /** {@code SET timestamp=DEFAULT} after {@code SET timestamp=1000}: the value reported is the stale 1000. */
    static final String TRACKED_TIMESTAMP_DEFAULT = "2400000100000002400000001b00160974696d657374616d700b313030302e303030303030020131";
    /** {@code SET session_track_schema=ON} sent by the client itself. */
    static final String TRACKED_CLIENT_TRACK_SCHEMA = "2600000100000002400000001d00181473657373696f6e5f747261636b5f736368656d61024f4e020131";
    /** {@code SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci}: three character sets, no collation_connection. */
    static final String TRACKED_SET_NAMES_COLLATE = "6e0000010000000240000000650021186368617261637465725f7365745f636f6e6e656374696f6e07757466386d6234001d"
            + "146368617261637465725f7365745f636c69656e7407757466386d6234001e156368617261637465725f7365745f726573756c74"
            + "7307757466386d6234020131";
    /**
     * {@code SET session_track_system_variables=CONCAT(@@global.session_track_system_variables,',auto_increment_increment')}:
     * the new list lacks *, so the variable does not report itself; only a state change is left.
     */
    static final String TRACKED_CLIENT_TRACKING_LIST = "0c000001000000024000000003020131";
    /** {@code DO 1}: an OK without SERVER_SESSION_STATE_CHANGED. */
    static final String TRACKED_DO = "0700000100000002000000";

    private MariaDbSessionPackets() {
    }

    /** The packet's bytes in a fresh heap buffer; the caller releases it. */
    static ByteBuf packet(String hex) {
        return Unpooled.wrappedBuffer(HexFormat.of().parseHex(hex));
    }

    /** The packet's payload, without its 4-byte header. */
    static byte[] payloadOf(String hex) {
        byte[] whole = HexFormat.of().parseHex(hex);
        byte[] payload = new byte[whole.length - 4];
        System.arraycopy(whole, 4, payload, 0, payload.length);
        return payload;
    }
}
