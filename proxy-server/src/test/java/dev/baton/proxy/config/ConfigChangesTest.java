package dev.baton.proxy.config;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a reload would change, named by config key, split into what applies live and what needs a restart. */
class ConfigChangesTest {
    private static final String GALERA = """
            listen: 127.0.0.1:6033
            instance-name: baton-a
            admin:
              listen: 127.0.0.1:6034
              token: %s
            cluster:
              type: galera
              nodes:
                - {name: db1, address: 127.0.0.1:3311}
                - {name: db2, address: 127.0.0.1:3312}
                - {name: %s, address: 127.0.0.1:3313}
              monitor: {user: baton_monitor, password: %s}
            io-threads: %d
            quotas:
              per-client: %d
              clients: {"10.0.0.12": %d}
              wait: %s
            timeouts:
              handshake: 10s
            """;

    private static BatonConfig config(String token, String node3, String monitorPassword, int ioThreads, int perClient,
                                      int override, String wait) throws ConfigException {
        return ConfigLoader.parse("baton.yaml", GALERA.formatted(token, node3, monitorPassword, ioThreads, perClient,
                override, wait), warning -> { });
    }

    @Test
    void liveChangesNameTheirKeyWithOldAndNewValueButNeverTheToken() throws Exception {
        ConfigChanges changes = ConfigChanges.between(config("t1", "db3", "pw", 2, 50, 80, "0s"),
                config("t2", "db3", "pw", 2, 60, 90, "1500ms"));
        assertEquals(List.of("admin.token", "quotas.per-client 50 -> 60", "quotas.clients {10.0.0.12=80} -> {10.0.0.12=90}",
                "quotas.wait 0s -> 1500ms"), changes.live());
        assertEquals(List.of(), changes.restart());
    }

    @Test
    void clusterAndThreadChangesNeedARestartAndNameNoPassword() throws Exception {
        ConfigChanges changes = ConfigChanges.between(config("t", "db3", "old-secret", 2, 50, 80, "0s"),
                config("t", "db4", "new-secret", 4, 50, 80, "0s"));
        assertEquals(List.of("cluster.nodes needs a restart", "cluster.monitor needs a restart",
                "io-threads 2 -> 4 needs a restart"), changes.restart());
        assertTrue(changes.live().isEmpty());
        assertTrue(!changes.restart().toString().contains("secret"), changes.restart().toString());
    }

    @Test
    void aTransportChangeNeedsARestart() throws Exception {
        BatonConfig running = config("t", "db3", "pw", 2, 50, 80, "0s");
        ConfigChanges changes = ConfigChanges.between(running.withTransport(BatonConfig.TransportChoice.EPOLL),
                running.withTransport(BatonConfig.TransportChoice.NIO));
        assertEquals(List.of("transport epoll -> nio needs a restart"), changes.restart());
    }

    @Test
    void theSameFileChangesNothing() throws Exception {
        assertTrue(ConfigChanges.between(config("t", "db3", "pw", 2, 50, 80, "0s"), config("t", "db3", "pw", 2, 50, 80, "0s")).none());
    }
}
