package dev.baton.admin.api;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The admin API's JSON keeps the keys, their order and their compact form the API had before the records existed:
 * the command line, the docs and scripts of operators read them. Each expected text below is what the API wrote.
 */
class AdminJsonTest {

    @Test
    void statusIsWrittenWithItsSnakeCaseKeysInTheirOrder() {
        Status status = new Status("0.1.0", "baton-a", 12, "galera", "db1", 3L, null,
                new Status.Handover("db2", "2026-11-27T10:00:00Z", "admin API from /127.0.0.1:5000"), null,
                List.of(new Status.NodeStatus("db1", "127.0.0.1:3311", 1, true, true, null, null, "2026-11-27T09:59:59Z",
                        0.0, 0L, 151L, true, false, null)),
                List.of(new Status.ClientUsage("127.0.0.7", 1, 50, 0)), new Status.Totals(1, 250, 1, 4),
                new Tls("2027-01-01T00:00:00Z", "CN=baton", "1f"));
        assertEquals("{\"version\":\"0.1.0\",\"instance\":\"baton-a\",\"uptime_seconds\":12,\"cluster_type\":\"galera\","
                + "\"writer\":\"db1\",\"epoch\":3,\"no_writer_reason\":null,\"handover\":{\"to\":\"db2\",\"deadline\":"
                + "\"2026-11-27T10:00:00Z\",\"started_by\":\"admin API from /127.0.0.1:5000\"},\"warning\":null,\"nodes\":"
                + "[{\"name\":\"db1\",\"address\":\"127.0.0.1:3311\",\"priority\":1,\"monitored\":true,\"up\":true,"
                + "\"down_reason\":null,\"not_monitored_reason\":null,\"last_check\":\"2026-11-27T09:59:59Z\","
                + "\"flow_control_paused\":0.0,\"recv_queue\":0,\"max_connections\":151,\"writer\":true,\"maintenance\":false,"
                + "\"replication\":null}],\"clients\":[{\"client\":\"127.0.0.7\",\"connections\":1,\"limit\":50,\"rejected\":0}],"
                + "\"totals\":{\"connections\":1,\"max_total\":250,\"sessions\":1,\"sessions_opened\":4},"
                + "\"tls\":{\"certificate_expires\":\"2027-01-01T00:00:00Z\",\"subject\":\"CN=baton\",\"serial\":\"1f\"}}",
                AdminJson.write(status));
    }

    @Test
    void replicationOfANodeKeepsItsKeys() {
        Status.Replication r = new Status.Replication("replica", true, "127.0.0.1:3321", "running", "running", null, null, 3L,
                "0-1-10", "0-1-9", "0-1-9", "0-1-10", new Status.SemiSync(true, false, 0L, true, true), null);
        assertEquals("{\"role\":\"replica\",\"read_only\":true,\"source\":\"127.0.0.1:3321\",\"io_thread\":\"running\","
                + "\"sql_thread\":\"running\",\"last_io_error\":null,\"last_sql_error\":null,\"lag_seconds\":3,"
                + "\"gtid_binlog_pos\":\"0-1-10\",\"gtid_current_pos\":\"0-1-9\",\"gtid_slave_pos\":\"0-1-9\",\"gtid_io_pos\":"
                + "\"0-1-10\",\"semi_sync\":{\"source_enabled\":true,\"source_active\":false,\"source_clients\":0,"
                + "\"replica_enabled\":true,\"replica_active\":true},\"left_out\":null}", AdminJson.write(r));
    }

    @Test
    void aSwitchoverReportKeepsItsKeysAndPerInstanceDrains() {
        SwitchoverReport report = new SwitchoverReport("db1", "db2", 4, 812, false, 3, 1, 4, 0, 0,
                List.of(new SwitchoverReport.InstanceDrain("baton-a", 3, 1, 4, 0, 0)), List.of("baton-b"),
                new SwitchoverReport.SessionMoves("baton-a", 4, new TreeMap<>(Map.of("in a transaction", 1L)), 0));
        assertEquals("{\"from\":\"db1\",\"to\":\"db2\",\"epoch\":4,\"writes_unavailable_ms\":812,"
                + "\"promoted_without_a_writer\":false,\"sessions_idle\":3,\"sessions_after_transaction\":1,"
                + "\"sessions_moving\":4,\"sessions_closed_not_movable\":0,\"sessions_closed_in_transaction\":0,"
                + "\"instances\":[{\"instance\":\"baton-a\",\"sessions_idle\":3,\"sessions_after_transaction\":1,"
                + "\"sessions_moving\":4,\"sessions_closed_not_movable\":0,\"sessions_closed_in_transaction\":0}],"
                + "\"instances_not_heard_from\":[\"baton-b\"],\"this_instance\":{\"instance\":\"baton-a\",\"sessions_moved\":4,"
                + "\"sessions_not_moved\":{\"in a transaction\":1},\"sessions_still_moving\":0}}", AdminJson.write(report));
        assertEquals("{\"node\":\"db1\",\"maintenance\":true,\"switchover\":null}",
                AdminJson.write(new MaintenanceReport("db1", true, null)));
    }

    @Test
    void eventsFindingsHealthAndErrorsKeepTheirKeys() {
        assertEquals("{\"events\":[{\"time\":\"2026-11-27T10:00:00Z\",\"kind\":\"writer\",\"subject\":\"db2\","
                        + "\"description\":\"switchover\",\"requested_by\":\"baton-a\"}]}",
                AdminJson.write(new Events(List.of(new Events.Event("2026-11-27T10:00:00Z", "writer", "db2", "switchover", "baton-a")))));
        assertEquals("{\"findings\":[{\"check\":\"one writer\",\"result\":\"pass\",\"detail\":\"every session goes to db1\"}]}",
                AdminJson.write(new CheckReport(List.of(new CheckReport.Finding("one writer", "pass", "every session goes to db1")))));
        assertEquals("{\"status\":\"ok\",\"writer\":\"db1\",\"epoch\":1,\"sessions\":12,\"warning\":null}",
                AdminJson.write(new Health("ok", "db1", 1, 12, null)));
        assertEquals("{\"status\":\"no-writer\",\"reason\":\"no node is up\"}",
                AdminJson.write(new Health.NoWriter("no-writer", "no node is up")));
        assertEquals("{\"error\":\"say \\\"hi\\\"\\n\"}", AdminJson.write(new ApiError("say \"hi\"\n")));
    }

    @Test
    void answersReadBackIntoTheSameRecords() {
        SwitchoverReport report = new SwitchoverReport(null, "db2", 4, 10, true, 0, 0, 0, 0, 0, List.of(), List.of(), null);
        assertEquals(report, AdminJson.read(SwitchoverReport.class, AdminJson.write(report)));
    }

    @Test
    void requestsUseTheKebabCaseKeysOfTheConfig() {
        assertEquals("{\"to\":\"db2\",\"drain-timeout\":\"10s\"}", AdminJson.write(new SwitchoverRequest("db2", "10s")));
        assertEquals(new SwitchoverRequest("db2", "3s"), AdminJson.read(SwitchoverRequest.class, "{\"to\": \"db2\", \"drain-timeout\": \"3s\"}"));
        assertEquals(new MaintenanceRequest(true), AdminJson.read(MaintenanceRequest.class, "{\"on\":true}"));
    }

    @Test
    void aNestedKeyIsNotTakenForATopLevelOne() {
        AdminJson.Invalid e = assertThrows(AdminJson.Invalid.class,
                () -> AdminJson.read(SwitchoverRequest.class, "{\"x\":{\"to\":\"db2\"}}"));
        assertEquals("unknown key \"x\" (known: to, drain-timeout)", e.getMessage());
    }

    @Test
    void anAnswerWithKeysANewerBatonAddedStillReads() {
        assertEquals(new CheckReport(List.of(new CheckReport.Finding("one writer", "pass", "db1"))), AdminJson.read(CheckReport.class,
                "{\"findings\":[{\"check\":\"one writer\",\"result\":\"pass\",\"detail\":\"db1\",\"since\":3}],\"took_ms\":2}"));
    }

    @Test
    void aValueOfTheWrongTypeIsRefusedNamingItsKey() {
        assertEquals("\"on\" must be true or false, not a string",
                assertThrows(AdminJson.Invalid.class, () -> AdminJson.read(MaintenanceRequest.class, "{\"on\":\"yes\"}")).getMessage());
        assertEquals("\"to\" must be a string, not an array",
                assertThrows(AdminJson.Invalid.class, () -> AdminJson.read(SwitchoverRequest.class, "{\"to\":[\"db2\"]}")).getMessage());
    }

    @Test
    void textThatIsNotOneJsonObjectIsRefused() {
        assertEquals("expected a JSON object",
                assertThrows(AdminJson.Invalid.class, () -> AdminJson.read(MaintenanceRequest.class, "[true]")).getMessage());
        assertEquals("expected a JSON object",
                assertThrows(AdminJson.Invalid.class, () -> AdminJson.read(MaintenanceRequest.class, "")).getMessage());
        assertEquals("unexpected text after the JSON object",
                assertThrows(AdminJson.Invalid.class, () -> AdminJson.read(MaintenanceRequest.class, "{\"on\":true} {}")).getMessage());
        String broken = assertThrows(AdminJson.Invalid.class, () -> AdminJson.read(MaintenanceRequest.class, "{\"on\":tru")).getMessage();
        assertEquals(true, broken.startsWith("not valid JSON: "), broken);
    }
}
