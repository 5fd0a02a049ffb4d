package dev.baton.cli.commands;

import dev.baton.admin.api.AdminJson;
import dev.baton.admin.api.Status;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@code baton status} prints each primary/replica node's replication in a line an operator reads at a glance. */
class ReplicationLinesTest {

    private static Status.Replication replication(String json) {
        return AdminJson.read(Status.Replication.class, json);
    }

    @Test
    void aReplicaShowsItsSourceThreadsLagSemiSyncAndPositions() {
        Status.Replication r = replication("""
                {"role":"replica","read_only":true,"source":"127.0.0.1:3321","io_thread":"running","sql_thread":"running",
                 "last_io_error":null,"last_sql_error":null,"lag_seconds":3,"gtid_binlog_pos":"0-1-10",
                 "gtid_current_pos":"0-1-9","gtid_slave_pos":"0-1-9","gtid_io_pos":"0-1-10",
                 "semi_sync":{"source_enabled":true,"source_active":false,"source_clients":0,"replica_enabled":true,
                 "replica_active":true},"left_out":null}""");
        assertEquals(List.of("db2          replica of 127.0.0.1:3321, io running, sql running, lag 3 s, semi-sync acking, "
                + "slave_pos 0-1-9, io_pos 0-1-10"), StatusCommand.replicationLines("db2", r));
    }

    @Test
    void aPrimaryShowsItsSemiSyncReplicasAndBinlogPosition() {
        Status.Replication r = replication("""
                {"role":"primary","read_only":false,"source":null,"io_thread":null,"sql_thread":null,"lag_seconds":null,
                 "gtid_binlog_pos":"0-1-10","gtid_current_pos":"0-1-10","gtid_slave_pos":"","gtid_io_pos":null,
                 "semi_sync":{"source_enabled":true,"source_active":true,"source_clients":2,"replica_enabled":true,
                 "replica_active":false},"left_out":null}""");
        assertEquals(List.of("db1          primary, semi-sync active (2 replica(s)), binlog_pos 0-1-10"),
                StatusCommand.replicationLines("db1", r));
    }

    @Test
    void aStoppedReplicaShowsUnknownLagAndItsErrorAndANodeLeftOutSaysWhy() {
        Status.Replication r = (replication("""
                {"role":"replica","read_only":true,"source":"127.0.0.1:3321","io_thread":"running","sql_thread":"stopped",
                 "last_io_error":null,"last_sql_error":"Duplicate entry '1' for key 'PRIMARY'","lag_seconds":null,
                 "gtid_binlog_pos":"0-3-11","gtid_current_pos":"0-3-11","gtid_slave_pos":"0-1-10","gtid_io_pos":"0-1-10",
                 "semi_sync":{"source_enabled":false,"source_active":false,"source_clients":0,"replica_enabled":false,
                 "replica_active":false},"left_out":"holds 0-3-11, which the primary lacks"}"""));
        assertEquals(List.of("db3          replica of 127.0.0.1:3321, io running, sql stopped, lag ?, semi-sync off, "
                        + "slave_pos 0-1-10, io_pos 0-1-10, last sql error: Duplicate entry '1' for key 'PRIMARY'",
                "             left out: holds 0-3-11, which the primary lacks"), StatusCommand.replicationLines("db3", r));
    }

    @Test
    void anUnreachableNodeIsUnknownWithoutPositions() {
        Status.Replication r = replication("""
                {"role":"unknown","read_only":false,"source":null,"gtid_binlog_pos":null,"gtid_current_pos":null,
                 "semi_sync":{},"left_out":null}""");
        assertEquals(List.of("db3          unknown"), StatusCommand.replicationLines("db3", r));
    }
}
