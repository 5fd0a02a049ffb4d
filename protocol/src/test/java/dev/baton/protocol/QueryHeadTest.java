package dev.baton.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;

import static dev.baton.protocol.QueryHead.MAY_HIDE_STATE;
import static dev.baton.protocol.QueryHead.SET_NAMES_COLLATE;
import static dev.baton.protocol.QueryHead.SET_STATEMENT;
import static dev.baton.protocol.QueryHead.TABLE_LOCK;
import static dev.baton.protocol.QueryHead.TRACKING;
import static dev.baton.protocol.QueryHead.UNLOCK_TABLES;
import static dev.baton.protocol.QueryHead.USER_LOCK;
import static dev.baton.protocol.QueryHead.USER_VARIABLE;
import static dev.baton.protocol.QueryHead.XA_END;
import static dev.baton.protocol.QueryHead.XA_START;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class QueryHeadTest {

    @ParameterizedTest
    @ValueSource(strings = {"LOCK TABLES t READ", "lock table t write", "  /* app */ LOCK\tTABLES t READ",
            "FLUSH TABLES WITH READ LOCK", "FLUSH TABLES t FOR EXPORT", "/*!40000 LOCK TABLES t WRITE */"})
    void seesTableLocks(String sql) {
        assertEquals(TABLE_LOCK, classify(sql));
    }

    @Test
    void seesUnlockTables() {
        assertEquals(UNLOCK_TABLES, classify("-- done\nUNLOCK TABLES"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"SELECT GET_LOCK('a', 10)", "select get_lock ('a', 10) from dual", "DO GET_LOCK('x',0)"})
    void seesUserLocksAnywhereInTheHead(String sql) {
        assertEquals(USER_LOCK, classify(sql));
    }

    @Test
    void doesNotTakeAnIdentifierEndingInGetLockForTheFunction() {
        assertEquals(0, classify("SELECT my_get_lock FROM t"));
    }

    @Test
    void seesXaStartAndEnd() {
        assertEquals(XA_START, classify("XA START 'x'"));
        assertEquals(XA_START, classify("xa begin 'x'"));
        assertEquals(XA_END, classify("XA COMMIT 'x' ONE PHASE"));
        assertEquals(XA_END, classify("XA ROLLBACK 'x'"));
        assertEquals(0, classify("XA END 'x'"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"SELECT @y:=1", "SELECT @`y` := 1", "SELECT a INTO @v FROM t", "SELECT a FROM t INTO  @v"})
    void seesUserVariablesTheServerDoesNotReport(String sql) {
        assertEquals(USER_VARIABLE | MAY_HIDE_STATE, classify(sql));
    }

    @Test
    void takesSystemVariablesForNoUserVariable() {
        assertEquals(0, classify("SELECT @@session.sql_mode, @@autocommit"));
        assertEquals(MAY_HIDE_STATE, classify("SELECT * FROM users WHERE email = 'a@example.com'"));
    }

    @Test
    void seesSetStatementSetNamesCollateAndTracking() {
        assertEquals(SET_STATEMENT, classify("SET STATEMENT max_statement_time=1 FOR SELECT 1"));
        assertEquals(SET_NAMES_COLLATE, classify("SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci"));
        assertEquals(TRACKING, classify("SET @@session.session_track_schema=OFF"));
        assertEquals(0, classify("SELECT @@session_track_schema"));
    }

    @Test
    void readsTheCollationOfSetNames() {
        assertEquals("utf8mb4_unicode_520_ci", collation("SET NAMES utf8mb4 COLLATE 'utf8mb4_unicode_520_ci'", true));
        assertEquals("latin1_german1_ci", collation("SET NAMES latin1 collate latin1_german1_ci", true));
        assertNull(collation("SET NAMES latin1 COLLATE latin1_ger", false)); // cut off by the head
        assertNull(collation("SET NAMES latin1 COLLATE 'latin1_ger", true));
    }

    private static int classify(String sql) {
        ByteBuf buf = Unpooled.wrappedBuffer(sql.getBytes(StandardCharsets.UTF_8));
        try {
            return QueryHead.classify(buf, 0, buf.writerIndex());
        } finally {
            buf.release();
        }
    }

    private static String collation(String sql, boolean whole) {
        ByteBuf buf = Unpooled.wrappedBuffer(sql.getBytes(StandardCharsets.UTF_8));
        try {
            return QueryHead.collation(buf, 0, buf.writerIndex(), whole);
        } finally {
            buf.release();
        }
    }
}
