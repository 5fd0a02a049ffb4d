package dev.baton.proxy.config;

import dev.baton.routing.ClusterSpec;
import dev.baton.routing.ProxyProtocolVersion;
import dev.baton.routing.HostPort;
import dev.baton.routing.ServerTls;
import dev.baton.routing.TopologyType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigLoaderTest {
    private static final String NODES = "cluster:\n  type: single\n  nodes:\n    - {name: db1, address: 127.0.0.1:3311}\n";

    @TempDir
    static Path tlsDir;
    private static TestTlsFiles tls;

    @BeforeAll
    static void makeTlsFiles() throws java.io.IOException {
        tls = TestTlsFiles.create(tlsDir);
        Files.writeString(tlsDir.resolve("not-a-cert.pem"), "hello, I am a text file\n");
        Files.createDirectories(tlsDir.resolve("a-directory.pem"));
    }

    @Test
    void tlsIsOffByDefaultAndReadsAsWrittenWithPkcs8OrPkcs1Keys() throws ConfigException {
        assertEquals(null, ConfigLoader.parse("baton.yaml", NODES).tls());
        BatonConfig config = ConfigLoader.parse("baton.yaml", NODES + "tls:\n  cert: " + tls.serverCert() + "\n  key: "
                + tls.serverKey() + "\n");
        assertEquals(new BatonConfig.ClientTls(tls.serverCert(), tls.serverKey(), null, false, "TLSv1.2"), config.tls());
        assertEquals(List.of("TLSv1.2", "TLSv1.3"), List.of(config.tls().protocols()));

        BatonConfig pkcs1 = ConfigLoader.parse("baton.yaml", NODES + "tls:\n  cert: " + tls.serverCert() + "\n  key: "
                + tls.serverKeyPkcs1() + "\n  ca: " + tls.serverCert() + "\n  require: true\n  min-version: TLSv1.3\n");
        assertEquals(new BatonConfig.ClientTls(tls.serverCert(), tls.serverKeyPkcs1(), tls.serverCert(), true, "TLSv1.3"),
                pkcs1.tls());
        assertEquals(List.of("TLSv1.3"), List.of(pkcs1.tls().protocols()));
        assertEquals(TlsFiles.read(config.tls()).key(), TlsFiles.read(pkcs1.tls()).key(), "the same key, either way");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "no cert | tls:\\n  key: %KEY% | baton.yaml: tls.cert: missing",
            "no key | tls:\\n  cert: %CERT% | baton.yaml: tls.key: missing",
            "missing cert file | tls:\\n  cert: %DIR%/nope.pem\\n  key: %KEY% | baton.yaml: tls.cert: cert file %DIR%/nope.pem does not exist",
            "missing key file | tls:\\n  cert: %CERT%\\n  key: %DIR%/nope.key | baton.yaml: tls.key: key file %DIR%/nope.key does not exist",
            "unreadable cert | tls:\\n  cert: %DIR%/a-directory.pem\\n  key: %KEY% | baton.yaml: tls.cert: cert file %DIR%/a-directory.pem is not a regular file",
            "unreadable key | tls:\\n  cert: %CERT%\\n  key: %DIR%/a-directory.pem | baton.yaml: tls.key: key file %DIR%/a-directory.pem is not a regular file",
            "cert not a certificate | tls:\\n  cert: %DIR%/not-a-cert.pem\\n  key: %KEY% | baton.yaml: tls.cert: cert file %DIR%/not-a-cert.pem holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            "key is a certificate | tls:\\n  cert: %CERT%\\n  key: %CERT% | baton.yaml: tls.key: key file %CERT% holds no PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)",
            "key of another certificate | tls:\\n  cert: %CERT%\\n  key: %DIR%/stranger.key | baton.yaml: tls.key: key file %DIR%/stranger.key is not the private key of the certificate in %CERT%",
            "bad min version | tls:\\n  cert: %CERT%\\n  key: %KEY%\\n  min-version: TLSv1.1 | baton.yaml: tls.min-version: 'TLSv1.1' is not one of [TLSv1.2, TLSv1.3]",
            "require not boolean | tls:\\n  cert: %CERT%\\n  key: %KEY%\\n  require: yes-please | baton.yaml: tls.require: expected true or false, got 'yes-please'",
            "ca missing | tls:\\n  cert: %CERT%\\n  key: %KEY%\\n  ca: %DIR%/no-ca.pem | baton.yaml: tls.ca: ca file %DIR%/no-ca.pem does not exist",
            "ca unreadable | tls:\\n  cert: %CERT%\\n  key: %KEY%\\n  ca: %DIR%/a-directory.pem | baton.yaml: tls.ca: ca file %DIR%/a-directory.pem is not a regular file",
            "ca not a certificate | tls:\\n  cert: %CERT%\\n  key: %KEY%\\n  ca: %DIR%/not-a-cert.pem | baton.yaml: tls.ca: ca file %DIR%/not-a-cert.pem holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            "unknown tls key | tls:\\n  cert: %CERT%\\n  key: %KEY%\\n  verify: true | baton.yaml: tls.verify: unknown key (known here: ca, cert, key, min-version, require)",
    })
    void badTlsConfigIsOneLineNamingFileKeyAndProblem(String name, String yaml, String expected) {
        String dir = tlsDir.toString();
        java.util.function.UnaryOperator<String> fill = text -> text.replace("%CERT%", tls.serverCert().toString())
                .replace("%KEY%", tls.serverKey().toString()).replace("%DIR%", dir);
        assertEquals(fill.apply(expected), error(NODES + fill.apply(yaml.replace("\\n", "\n"))));
    }

    private static String error(String yaml) {
        return assertThrows(ConfigException.class, () -> ConfigLoader.parse("baton.yaml", yaml)).getMessage();
    }

    @Test
    void minimalConfigGetsDocumentedDefaults() throws ConfigException {
        BatonConfig config = ConfigLoader.parse("baton.yaml", NODES);
        assertEquals(new HostPort("127.0.0.1", 6033), config.listen());
        assertEquals(new HostPort("127.0.0.1", 6034), config.adminListen());
        assertEquals(TopologyType.SINGLE, config.clusterType());
        assertEquals("db1", config.nodes().get(0).name());
        assertEquals(new HostPort("127.0.0.1", 3311), config.nodes().get(0).address());
        assertEquals(Duration.ofSeconds(3), config.connectTimeout());
        assertEquals(Duration.ofSeconds(10), config.handshakeTimeout());
        assertEquals(Duration.ofSeconds(5), config.closeTimeout());
    }

    @Test
    void proxyProtocolTowardsTheServersIsOffUnlessTheClusterNamesAVersion() throws ConfigException {
        assertEquals(ProxyProtocolVersion.OFF, ConfigLoader.parse("baton.yaml", NODES).cluster().proxyProtocol());
        assertEquals(ProxyProtocolVersion.OFF, ConfigLoader.parse("baton.yaml", NODES + "  proxy-protocol: off\n")
                .cluster().proxyProtocol());
        assertEquals(ProxyProtocolVersion.V1, ConfigLoader.parse("baton.yaml", NODES + "  proxy-protocol: v1\n")
                .cluster().proxyProtocol());
        assertEquals(ProxyProtocolVersion.V2, ConfigLoader.parse("baton.yaml", REPLICATION_NODES
                + "  replication: {user: repl, password: r}\n  proxy-protocol: v2\n").cluster().proxyProtocol());
    }

    @Test
    void singleIsNotMonitoredWithoutAMonitorSectionAndMonitoredWithOne() throws ConfigException {
        assertNull(ConfigLoader.parse("baton.yaml", NODES).cluster().monitor());
        BatonConfig config = ConfigLoader.parse("baton.yaml", NODES + "  monitor: {user: baton_monitor, password: s3cret, interval: 2s}\n");
        assertEquals("baton_monitor", config.cluster().monitor().user());
        assertEquals("s3cret", config.cluster().monitor().password());
        assertEquals(Duration.ofSeconds(2), config.cluster().monitor().interval());
        assertEquals(3, config.cluster().monitor().fall());
    }

    @Test
    void sessionsMoveByDefaultAndStayWhereTheyAreWhenMoveIsOff() throws ConfigException {
        assertTrue(ConfigLoader.parse("baton.yaml", NODES).sessions().move());
        assertTrue(ConfigLoader.parse("baton.yaml", NODES + "sessions: {}\n").sessions().move());
        assertTrue(ConfigLoader.parse("baton.yaml", NODES + "sessions:\n  move: true\n").sessions().move());
        assertFalse(ConfigLoader.parse("baton.yaml", NODES + "sessions:\n  move: false\n").sessions().move());
    }

    @Test
    void proxyProtocolTrustsTheListedNetworksOnlyAndRequiresAHeaderFromThemByDefault() throws ConfigException {
        assertFalse(ConfigLoader.parse("baton.yaml", NODES).proxyProtocol()
                .trusts(new java.net.InetSocketAddress("127.0.0.1", 5000)), "no load balancer is trusted unless listed");
        BatonConfig config = ConfigLoader.parse("baton.yaml", NODES + "proxy-protocol:\n  accept-from: [10.0.0.0/24, '::1']\n");
        assertTrue(config.proxyProtocol().require());
        assertTrue(config.proxyProtocol().trusts(new java.net.InetSocketAddress("10.0.0.77", 5000)));
        assertFalse(config.proxyProtocol().trusts(new java.net.InetSocketAddress("10.0.1.77", 5000)));
        assertTrue(config.proxyProtocol().trusts(new java.net.InetSocketAddress("::1", 5000)));
        assertFalse(ConfigLoader.parse("baton.yaml", NODES + "proxy-protocol:\n  accept-from: [10.0.0.1]\n  require: false\n")
                .proxyProtocol().require());
    }

    @Test
    void issueExampleConfigReadsAsWritten() throws ConfigException {
        BatonConfig config = ConfigLoader.parse("baton.yaml", "listen: 127.0.0.1:7033\nadmin:\n  listen: 127.0.0.1:7034\n"
                + NODES + "timeouts:\n  connect: 500ms\n  handshake: 1m\n  close: 2s\nio-threads: 3\n");
        assertEquals(7033, config.listen().port());
        assertEquals(7034, config.adminListen().port());
        assertEquals(Duration.ofMillis(500), config.connectTimeout());
        assertEquals(Duration.ofMinutes(1), config.handshakeTimeout());
        assertEquals(Duration.ofSeconds(2), config.closeTimeout());
        assertEquals(3, config.ioThreads());
    }

    @ParameterizedTest(name = "transport: {0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"auto", "io_uring", "epoll", "nio"})
    void transportReadsAsNamed(String name) throws ConfigException {
        BatonConfig config = ConfigLoader.parse("baton.yaml", NODES + "transport: " + name + "\n");
        assertEquals(name, config.transport().configName());
    }

    @ParameterizedTest(name = "{0} CPUs -> {1} io-threads")
    @CsvSource({"1, 1", "2, 1", "3, 1", "4, 2", "16, 8"})
    void ioThreadsDefaultToHalfTheCpusAndAtLeastOne(int cpus, int threads) {
        assertEquals(threads, BatonConfig.defaultIoThreads(cpus));
    }

    @Test
    void transportIsChosenAutomaticallyWhenNotSet() throws ConfigException {
        assertEquals(BatonConfig.TransportChoice.AUTO, ConfigLoader.parse("baton.yaml", NODES).transport());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "unknown top-level key | lisen: 127.0.0.1:1\\n" + "%NODES% | baton.yaml: lisen: unknown key (known here: admin, cluster, instance-name, io-threads, listen, log-level, proxy-protocol, quotas, sessions, timeouts, tls, transport)",
            "unknown admin key | admin:\\n  port: 1\\n%NODES% | baton.yaml: admin.port: unknown key (known here: listen, token, token-env)",
            "bad listen address | listen: localhost\\n%NODES% | baton.yaml: listen: bad address: 'localhost' is not host:port",
            "port out of range | listen: 127.0.0.1:70000\\n%NODES% | baton.yaml: listen: bad address: port 70000 is outside 1..65535 (or 0 for any free port)",
            "node address on port 0 | cluster:\\n  type: single\\n  nodes:\\n    - {name: a, address: 127.0.0.1:0} | baton.yaml: cluster.nodes[0].address: bad address: port 0 is outside 1..65535 (0, any free port, is only for listen and admin.listen)",
            "no numeric port | listen: 127.0.0.1:abc\\n%NODES% | baton.yaml: listen: bad address: '127.0.0.1:abc' has no numeric port",
            "same admin and listen | listen: 127.0.0.1:6033\\nadmin:\\n  listen: 127.0.0.1:6033\\n%NODES% | baton.yaml: admin.listen: 127.0.0.1:6033 is also 'listen'; give them different ports",
            "missing cluster | listen: 127.0.0.1:6033 | baton.yaml: cluster: missing (it names the cluster type and its nodes)",
            "unknown type | cluster:\\n  type: sharded\\n  nodes:\\n    - {name: a, address: h:1} | baton.yaml: cluster.type: unknown cluster type 'sharded' (known: single, galera, primary-replica)",
            "no nodes | cluster:\\n  type: single\\n  nodes: [] | baton.yaml: cluster.nodes: needs a list of at least one node, each {name, address}",
            "two nodes for single | cluster:\\n  type: single\\n  nodes:\\n    - {name: a, address: h:1}\\n    - {name: b, address: h:2} | baton.yaml: cluster.nodes: cluster type 'single' takes exactly one node, got 2",
            "duplicate names | cluster:\\n  type: single\\n  nodes:\\n    - {name: a, address: h:1}\\n    - {name: a, address: h:2} | baton.yaml: cluster.nodes[1].name: 'a' names two nodes",
            "duplicate addresses | cluster:\\n  type: single\\n  nodes:\\n    - {name: a, address: h:1}\\n    - {name: b, address: h:1} | baton.yaml: cluster.nodes[1].address: h:1 is the address of another node",
            "node without address | cluster:\\n  type: single\\n  nodes:\\n    - {name: a} | baton.yaml: cluster.nodes[0].address: missing (expected host:port)",
            "unknown node key | cluster:\\n  type: single\\n  nodes:\\n    - {name: a, address: h:1, weight: 3} | baton.yaml: cluster.nodes[0].weight: unknown key (known here: address, name, priority)",
            "bad node name | cluster:\\n  type: single\\n  nodes:\\n    - {name: 'a b', address: h:1} | baton.yaml: cluster.nodes[0].name: 'a b' may only use letters, digits, '_', '.', '-'",
            "unknown log level | %NODES%log-level: verbose | baton.yaml: log-level: 'verbose' is not one of [trace, debug, info, warn, error]",
            "unknown sessions key | %NODES%sessions:\\n  moved: true | baton.yaml: sessions.moved: unknown key (known here: move)",
            "sessions move not boolean | %NODES%sessions:\\n  move: sometimes | baton.yaml: sessions.move: expected true or false, got 'sometimes'",
            "sessions not a mapping | %NODES%sessions: true | baton.yaml: sessions: expected a mapping of keys, got 'true'",
            "proxy protocol without networks | %NODES%proxy-protocol:\\n  require: true | baton.yaml: proxy-protocol.accept-from: expected a list of the load balancers' addresses or networks (like [10.0.0.0/24]), got nothing",
            "proxy protocol bad network | %NODES%proxy-protocol:\\n  accept-from: [10.0.0.0/33] | baton.yaml: proxy-protocol.accept-from: '10.0.0.0/33' has a prefix length outside 0..32",
            "proxy protocol host name | %NODES%proxy-protocol:\\n  accept-from: [lb.example] | baton.yaml: proxy-protocol.accept-from: 'lb.example' is not an IP address (write it like 10.0.0.12 or ::1)",
            "proxy protocol unknown key | %NODES%proxy-protocol:\\n  accept-from: [10.0.0.1]\\n  version: 2 | baton.yaml: proxy-protocol.version: unknown key (known here: accept-from, require)",
            "proxy protocol out unknown version | %NODES%  proxy-protocol: v3 | baton.yaml: cluster.proxy-protocol: expected v1, v2 or off, got 'v3' (the PROXY protocol header Baton sends the servers)",
            "proxy protocol out as a number | %NODES%  proxy-protocol: 2 | baton.yaml: cluster.proxy-protocol: expected v1, v2 or off, got '2' (the PROXY protocol header Baton sends the servers)",
            "proxy protocol out on | %NODES%  proxy-protocol: on | baton.yaml: cluster.proxy-protocol: expected v1, v2 or off, got 'true' (the PROXY protocol header Baton sends the servers)",
            "proxy protocol out upper case | %NODES%  proxy-protocol: V2 | baton.yaml: cluster.proxy-protocol: expected v1, v2 or off, got 'V2' (the PROXY protocol header Baton sends the servers)",
            "proxy protocol out as a mapping | %NODES%  proxy-protocol: {version: v2} | baton.yaml: cluster.proxy-protocol: expected v1, v2 or off, got a mapping (the PROXY protocol header Baton sends the servers)",
            "bad duration | %NODES%timeouts:\\n  connect: soon | baton.yaml: timeouts.connect: 'soon' is not a duration (examples: 500ms, 3s, 1m)",
            "galera without monitor | cluster:\\n  type: galera\\n  nodes:\\n    - {name: a, address: h:1} | baton.yaml: cluster.monitor: missing (type 'galera' needs at least monitor.user and a password)",
            "galera without password | cluster:\\n  type: galera\\n  monitor: {user: m}\\n  nodes:\\n    - {name: a, address: h:1} | baton.yaml: cluster.monitor.password: missing (or name an environment variable in password-env)",
            "unset password variable | cluster:\\n  type: galera\\n  monitor: {user: m, password-env: BATON_NO_SUCH_VARIABLE}\\n  nodes:\\n    - {name: a, address: h:1} | baton.yaml: cluster.monitor.password-env: environment variable BATON_NO_SUCH_VARIABLE is not set",
            "record age for single | %NODES%  monitor: {user: m, password: p, record-max-age: 5s} | baton.yaml: cluster.monitor.record-max-age: applies to cluster types 'galera' and 'primary-replica' only (a single server has no writer record)",
            "single monitor without password | %NODES%  monitor: {user: m} | baton.yaml: cluster.monitor.password: missing (or name an environment variable in password-env)",
            "failback for single | %NODES%  failback: true | baton.yaml: cluster.failback: applies to cluster types 'galera' and 'primary-replica' only",
            "unknown monitor key | cluster:\\n  type: galera\\n  monitor: {user: m, password: p, intervall: 1s}\\n  nodes:\\n    - {name: a, address: h:1} | baton.yaml: cluster.monitor.intervall: unknown key (known here: fall, interval, password, password-env, record-max-age, rise, timeout, user)",
            "failback not boolean | cluster:\\n  type: galera\\n  monitor: {user: m, password: p}\\n  failback: sometimes\\n  nodes:\\n    - {name: a, address: h:1} | baton.yaml: cluster.failback: expected true or false, got 'sometimes'",
            "unknown quota key | %NODES%quotas:\\n  key: rack | baton.yaml: quotas.key: unknown quota key 'rack' (known: client-address, user, user-and-address)",
            "quota not a number | %NODES%quotas:\\n  per-client: lots | baton.yaml: quotas.per-client: expected a whole number, got 'lots'",
            "quota client not an address | %NODES%quotas:\\n  clients:\\n    app-server-1: 3 | baton.yaml: quotas.clients.app-server-1: 'app-server-1' is not an IP address (write it like 10.0.0.12 or ::1)",
            "quota client without user | %NODES%quotas:\\n  key: user-and-address\\n  clients:\\n    '::1': 3 | baton.yaml: quotas.clients.::1: '::1' is not user@address (quotas.key is user-and-address)",
            "quota client with bad address | %NODES%quotas:\\n  key: user-and-address\\n  clients:\\n    app@web1: 3 | baton.yaml: quotas.clients.app@web1: 'web1' is not an IP address (write it like 10.0.0.12 or ::1)",
            "one client written twice | %NODES%quotas:\\n  clients:\\n    '::1': 2\\n    '0:0:0:0:0:0:0:1': 3 | baton.yaml: quotas.clients.0:0:0:0:0:0:0:1: names the same client as '::1'",
            "unknown quota setting | %NODES%quotas:\\n  per-clients: 5 | baton.yaml: quotas.per-clients: unknown key (known here: clients, idle-expiry, key, max-total, per-client, wait)",
            "quota wait not a duration | %NODES%quotas:\\n  wait: a while | baton.yaml: quotas.wait: 'a while' is not a duration (examples: 500ms, 3s, 1m)",
            "quota wait without unit | %NODES%quotas:\\n  wait: 5 | baton.yaml: quotas.wait: '5' is not a duration (examples: 500ms, 3s, 1m)",
            "negative quota wait | %NODES%quotas:\\n  wait: -1s | baton.yaml: quotas.wait: '-1s' is not a duration (examples: 500ms, 3s, 1m)",
            "quota wait too long | %NODES%quotas:\\n  wait: 2h | baton.yaml: quotas.wait: '2h' is longer than the most allowed, 1h",
            "quota wait as long as the login | %NODES%quotas:\\n  wait: 10s | baton.yaml: quotas.wait: 10000 ms is not shorter than timeouts.handshake (10000 ms), which bounds the whole login including the wait; lower quotas.wait or raise timeouts.handshake",
            "quota wait longer than a set login | %NODES%timeouts:\\n  handshake: 3s\\nquotas:\\n  wait: 5s | baton.yaml: quotas.wait: 5000 ms is not shorter than timeouts.handshake (3000 ms), which bounds the whole login including the wait; lower quotas.wait or raise timeouts.handshake",
            "admin off loopback without token | admin:\\n  listen: 0.0.0.0:6034\\n%NODES% | baton.yaml: admin.listen: 0.0.0.0:6034 is not a loopback address and no admin.token (or admin.token-env) is set; the admin API can switch the writer, so it needs a token off loopback",
            "unset admin token variable | admin:\\n  token-env: BATON_NO_SUCH_TOKEN\\n%NODES% | baton.yaml: admin.token-env: environment variable BATON_NO_SUCH_TOKEN is not set",
            "huge duration | %NODES%timeouts:\\n  connect: 99999999999999999999s | baton.yaml: timeouts.connect: '99999999999999999999s' is longer than the most allowed, 1h",
            "long duration | %NODES%timeouts:\\n  connect: 2h | baton.yaml: timeouts.connect: '2h' is longer than the most allowed, 1h",
            "zero duration | %NODES%timeouts:\\n  handshake: 0s | baton.yaml: timeouts.handshake: must be more than zero",
            "bad close duration | %NODES%timeouts:\\n  close: never | baton.yaml: timeouts.close: 'never' is not a duration (examples: 500ms, 3s, 1m)",
            "unknown timeout | %NODES%timeouts:\\n  idle: 1s | baton.yaml: timeouts.idle: unknown key (known here: close, connect, handshake)",
            "io threads not a number | %NODES%io-threads: many | baton.yaml: io-threads: expected a whole number, got 'many'",
            "io threads zero | %NODES%io-threads: 0 | baton.yaml: io-threads: 0 is outside 1..256",
            "unknown transport | %NODES%transport: kqueue | baton.yaml: transport: 'kqueue' is not one of auto, io_uring, epoll, nio",
            "transport in capitals | %NODES%transport: EPOLL | baton.yaml: transport: 'EPOLL' is not one of auto, io_uring, epoll, nio",
            "tls unknown mode | %NODES%  tls:\\n    mode: verify-full | baton.yaml: cluster.tls.mode: 'verify-full' is not a TLS mode (disabled, preferred, required, verify-ca, verify-identity)",
            "tls mode as a boolean | %NODES%  tls:\\n    mode: on | baton.yaml: cluster.tls.mode: 'true' is not a TLS mode (disabled, preferred, required, verify-ca, verify-identity)",
            "tls verify-ca without ca | %NODES%  tls:\\n    mode: verify-ca | baton.yaml: cluster.tls.ca: missing (mode verify-ca checks the servers' certificates against this CA file, PEM)",
            "tls verify-identity without ca | %NODES%  tls:\\n    mode: verify-identity | baton.yaml: cluster.tls.ca: missing (mode verify-identity checks the servers' certificates against this CA file, PEM)",
            "tls ca not a file | %NODES%  tls:\\n    mode: verify-ca\\n    ca: /no/such/ca.pem | baton.yaml: cluster.tls.ca: /no/such/ca.pem is not a readable file",
            "tls cert without key | %NODES%  tls:\\n    mode: required\\n    cert: pom.xml | baton.yaml: cluster.tls.key: missing (cluster.tls.cert needs its private key, PEM)",
            "tls key without cert | %NODES%  tls:\\n    mode: required\\n    key: pom.xml | baton.yaml: cluster.tls.cert: missing (cluster.tls.key needs its certificate, PEM)",
            "tls unknown key | %NODES%  tls:\\n    mode: required\\n    verify: true | baton.yaml: cluster.tls.verify: unknown key (known here: ca, cert, key, mode)",
            "tls not a mapping | %NODES%  tls: required | baton.yaml: cluster.tls: expected a mapping of keys, got 'required'",
            "cluster not a map | cluster: single | baton.yaml: cluster: expected a mapping of keys, got 'single'",
            "empty file | \"\" | baton.yaml: file is empty; it needs at least a 'cluster' section",
            "broken yaml | cluster: [ | baton.yaml: not valid YAML at line 1: expected the node content, but found '<stream end>'",
    })
    void badConfigIsOneLineNamingFileKeyAndProblem(String name, String yaml, String expected) {
        assertEquals(expected, error(yaml.replace("\\n", "\n").replace("%NODES%", NODES)));
    }

    /** A primary/replica cluster of three nodes with a monitor, to which each case adds or changes keys. */
    private static final String REPLICATION_NODES = """
            cluster:
              type: primary-replica
              monitor: {user: m, password: p}
              nodes:
                - {name: db1, address: 127.0.0.1:3321}
                - {name: db2, address: 127.0.0.1:3322}
                - {name: db3, address: 127.0.0.1:3323}
            """;

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
            "missing replication section | %R% | baton.yaml: cluster.replication: missing (type 'primary-replica' needs the user and password Baton gives replicas when it points them at a new primary: {user, password or password-env})",
            "replication not a mapping | %R%  replication: repl | baton.yaml: cluster.replication: expected a mapping of keys, got 'repl'",
            "replication without user | %R%  replication: {password: r} | baton.yaml: cluster.replication.user: missing",
            "replication without password | %R%  replication: {user: repl} | baton.yaml: cluster.replication.password: missing (or name an environment variable in password-env)",
            "replication password twice | %R%  replication: {user: repl, password: r, password-env: X} | baton.yaml: cluster.replication.password-env: give either password or password-env, not both",
            "unset replication password variable | %R%  replication: {user: repl, password-env: BATON_NO_SUCH_VARIABLE} | baton.yaml: cluster.replication.password-env: environment variable BATON_NO_SUCH_VARIABLE is not set",
            "unknown replication key | %R%  replication: {user: repl, password: r, ssl: true} | baton.yaml: cluster.replication.ssl: unknown key (known here: password, password-env, user)",
            "bad failover | %R%  replication: {user: repl, password: r}\\n  failover: sometimes | baton.yaml: cluster.failover: expected auto or manual, got 'sometimes'",
            "failover written as a boolean | %R%  replication: {user: repl, password: r}\\n  failover: off | baton.yaml: cluster.failover: expected auto or manual, got 'false'",
            "bad rejoin | %R%  replication: {user: repl, password: r}\\n  rejoin: manual | baton.yaml: cluster.rejoin: expected auto or off, got 'manual'",
            "rejoin on | %R%  replication: {user: repl, password: r}\\n  rejoin: on | baton.yaml: cluster.rejoin: expected auto or off, got 'true'",
            "failback refused | %R%  replication: {user: repl, password: r}\\n  failback: true | baton.yaml: cluster.failback: true is not supported for type 'primary-replica': a primary is moved back only by an operator, with 'baton switchover NODE'; set failback: false",
            "bad connect wait | %R%  replication: {user: repl, password: r}\\n  connect-wait: soon | baton.yaml: cluster.connect-wait: 'soon' is not a duration (examples: 500ms, 3s, 1m)",
            "bad schema | %R%  replication: {user: repl, password: r}\\n  schema: 'a-b' | baton.yaml: cluster.schema: 'a-b' may only use letters, digits and '_'",
            "unknown cluster key | %R%  replication: {user: repl, password: r}\\n  promote: auto | baton.yaml: cluster.promote: unknown key (known here: connect-wait, failback, failover, monitor, nodes, proxy-protocol, rejoin, replication, schema, tls, type)",
            "without monitor | cluster:\\n  type: primary-replica\\n  replication: {user: repl, password: r}\\n  nodes:\\n    - {name: a, address: h:1}\\n    - {name: b, address: h:2} | baton.yaml: cluster.monitor: missing (type 'primary-replica' needs at least monitor.user and a password)",
            "one node | cluster:\\n  type: primary-replica\\n  monitor: {user: m, password: p}\\n  replication: {user: repl, password: r}\\n  nodes:\\n    - {name: a, address: h:1} | baton.yaml: cluster.nodes: cluster type 'primary-replica' needs at least 2 nodes (3 recommended), got 1",
            "replication for galera | cluster:\\n  type: galera\\n  monitor: {user: m, password: p}\\n  replication: {user: repl, password: r}\\n  nodes:\\n    - {name: a, address: h:1} | baton.yaml: cluster.replication: applies to cluster type 'primary-replica' only",
            "failover for galera | cluster:\\n  type: galera\\n  monitor: {user: m, password: p}\\n  failover: manual\\n  nodes:\\n    - {name: a, address: h:1} | baton.yaml: cluster.failover: applies to cluster type 'primary-replica' only",
            "rejoin for single | %NODES%  rejoin: auto | baton.yaml: cluster.rejoin: applies to cluster type 'primary-replica' only",
            "connect wait for single | %NODES%  connect-wait: 5s | baton.yaml: cluster.connect-wait: applies to cluster types 'galera' and 'primary-replica' only",
    })
    void badPrimaryReplicaConfigIsOneLineNamingFileKeyAndProblem(String name, String yaml, String expected) {
        assertEquals(expected, error(yaml.replace("\\n", "\n").replace("%NODES%", NODES).replace("%R%", REPLICATION_NODES)));
    }

    @Test
    void primaryReplicaConfigReadsAsWrittenWithoutEverShowingThePassword() throws ConfigException {
        List<String> warnings = new ArrayList<>();
        BatonConfig config = ConfigLoader.parse("baton.yaml", REPLICATION_NODES + """
                  replication: {user: repl, password: repl-secret}
                  failover: manual
                  rejoin: off
                  failback: false
                  connect-wait: 2s
                  schema: baton_books
                """, warnings::add);
        assertEquals(TopologyType.PRIMARY_REPLICA, config.clusterType());
        assertEquals(3, config.nodes().size());
        ClusterSpec.ReplicationSettings replication = config.cluster().replication();
        assertEquals("repl", replication.user());
        assertEquals("repl-secret", replication.password());
        assertFalse(replication.failoverAuto());
        assertFalse(replication.rejoinAuto());
        assertFalse(config.cluster().failback());
        assertEquals(Duration.ofSeconds(2), config.cluster().connectWait());
        assertEquals("baton_books", config.cluster().schema());
        assertEquals("m", config.cluster().monitor().user());
        assertFalse(replication.toString().contains("repl-secret"), "the password never reaches a log line");
        assertEquals(List.of(), warnings);
    }

    @Test
    void tlsToTheServersIsOffUnlessConfiguredAndTheMonitorGetsTheSameSetting() throws ConfigException {
        BatonConfig plain = ConfigLoader.parse("baton.yaml", REPLICATION_NODES + "  replication: {user: repl, password: r}\n");
        assertEquals(ServerTls.DISABLED, plain.cluster().tls());
        assertEquals(ServerTls.DISABLED, plain.cluster().monitor().tls());
        BatonConfig offWord = ConfigLoader.parse("baton.yaml", NODES + "  tls:\n    mode: off\n");
        assertEquals(ServerTls.Mode.DISABLED, offWord.cluster().tls().mode());
        BatonConfig required = ConfigLoader.parse("baton.yaml", REPLICATION_NODES
                + "  replication: {user: repl, password: r}\n  tls:\n    mode: required\n");
        assertEquals(ServerTls.Mode.REQUIRED, required.cluster().tls().mode());
        assertEquals(required.cluster().tls(), required.cluster().monitor().tls());
    }

    @Test
    void tlsFilesThatAreNotPemStopBatonAtStartNamingTheSection() {
        String message = error(NODES + "  tls:\n    mode: required\n    cert: pom.xml\n    key: pom.xml\n");
        assertTrue(message.startsWith("baton.yaml: cluster.tls: cannot use the certificate files: "), message);
    }

    @Test
    void primaryReplicaDefaultsToAutomaticFailoverAndRejoin() throws ConfigException {
        BatonConfig config = ConfigLoader.parse("baton.yaml", REPLICATION_NODES
                + "  replication: {user: repl, password: r}\n  rejoin: auto\n");
        assertTrue(config.cluster().replication().failoverAuto());
        assertTrue(config.cluster().replication().rejoinAuto());
        assertFalse(config.cluster().failback());
        assertEquals(Duration.ofSeconds(5), config.cluster().connectWait());
        assertEquals("baton", config.cluster().schema());
    }

    @Test
    void primaryReplicaReadsTheReplicationPasswordFromTheNamedVariable() throws ConfigException {
        String variable = System.getenv().keySet().stream().filter(k -> System.getenv(k) != null).sorted().findFirst()
                .orElseThrow();
        BatonConfig config = ConfigLoader.parse("baton.yaml", REPLICATION_NODES
                + "  replication: {user: repl, password-env: " + variable + "}\n");
        assertEquals(System.getenv(variable), config.cluster().replication().password());
    }

    @Test
    void twoPrimaryReplicaNodesAreAcceptedWithAWarningThatAMajorityOfTwoIsTwo() throws ConfigException {
        List<String> warnings = new ArrayList<>();
        ConfigLoader.parse("baton.yaml", """
                cluster:
                  type: primary-replica
                  monitor: {user: m, password: p}
                  replication: {user: repl, password: r}
                  nodes:
                    - {name: db1, address: 127.0.0.1:3321}
                    - {name: db2, address: 127.0.0.1:3322}
                """, warnings::add);
        assertEquals(List.of("baton.yaml: cluster.nodes: 2 nodes; a majority of 2 is 2, so losing either node stops "
                + "failover; use an odd count, such as 3"), warnings);
    }

    @Test
    void galeraConfigOfTheIssueReadsWithDefaults() throws ConfigException {
        BatonConfig config = ConfigLoader.parse("baton.yaml", """
                cluster:
                  type: galera
                  nodes:
                    - {name: db1, address: 127.0.0.1:3311, priority: 1}
                    - {name: db2, address: 127.0.0.1:3312, priority: 2}
                    - {name: db3, address: 127.0.0.1:3313, priority: 3}
                  monitor:
                    user: baton_monitor
                    password: secret
                    interval: 500ms
                    timeout: 1s
                    fall: 3
                    rise: 2
                  failback: false
                  connect-wait: 5s
                """);
        assertEquals(TopologyType.GALERA, config.clusterType());
        assertEquals(3, config.nodes().size());
        assertEquals(2, config.nodes().get(1).priority());
        assertEquals("baton_monitor", config.cluster().monitor().user());
        assertEquals("secret", config.cluster().monitor().password());
        assertEquals(Duration.ofMillis(500), config.cluster().monitor().interval());
        assertEquals(3, config.cluster().monitor().fall());
        assertEquals(Duration.ofMillis(4500), config.cluster().monitor().recordMaxAge(), "fall x (interval + timeout)");
        assertEquals(Duration.ofSeconds(5), config.cluster().connectWait());
        assertEquals("baton", config.cluster().schema());
        assertEquals(false, config.cluster().failback());
        assertEquals(false, config.cluster().monitor().toString().contains("secret"), "the password never reaches a log line");
    }

    @Test
    void quotasDefaultToTheRancherGuideAndReadAsWritten() throws ConfigException {
        var d = ConfigLoader.parse("baton.yaml", NODES).quotas();
        assertEquals(dev.baton.routing.ClientQuota.Key.CLIENT_ADDRESS, d.key());
        assertEquals(50, d.perClient());
        assertEquals(250, d.maxTotal());
        var q = ConfigLoader.parse("baton.yaml", NODES + "quotas:\n  key: client-address\n  per-client: 50\n  max-total: 250\n"
                + "  clients:\n    \"10.0.0.12\": 80\n").quotas();
        assertEquals(80, q.overrides().get("10.0.0.12"));
        assertEquals(250, q.maxTotal());
    }

    @Test
    void quotaWaitIsOffByDefaultAndReadAsWritten() throws ConfigException {
        assertEquals(java.time.Duration.ZERO, ConfigLoader.parse("baton.yaml", NODES).quotas().maxWait(),
                "a client over budget is refused at once unless told otherwise");
        assertEquals(java.time.Duration.ZERO, ConfigLoader.parse("baton.yaml", NODES + "quotas:\n  wait: 0s\n").quotas().maxWait());
        assertEquals(java.time.Duration.ofSeconds(5), ConfigLoader.parse("baton.yaml", NODES + "quotas:\n  wait: 5s\n")
                .quotas().maxWait());
        assertEquals(java.time.Duration.ofSeconds(20), ConfigLoader.parse("baton.yaml", NODES
                + "timeouts:\n  handshake: 30s\nquotas:\n  wait: 20s\n").quotas().maxWait());
    }

    @Test
    void quotaClientAddressesAreReadInTheFormSessionsUse() throws ConfigException {
        var byAddress = ConfigLoader.parse("baton.yaml", NODES + "quotas:\n  clients:\n    '0:0:0:0:0:0:0:1': 2\n"
                + "    '::ffff:10.0.0.1': 3\n    'fe80::1%lo': 4\n    10.0.0.12: 5\n").quotas();
        assertEquals(java.util.Map.of("::1", 2, "10.0.0.1", 3, "fe80::1", 4, "10.0.0.12", 5), byAddress.overrides());
        var byUserAndAddress = ConfigLoader.parse("baton.yaml", NODES + "quotas:\n  key: user-and-address\n  clients:\n"
                + "    'app@0:0:0:0:0:0:0:1': 2\n    'ops@corp@10.0.0.2': 1\n").quotas();
        assertEquals(java.util.Map.of("app@::1", 2, "ops@corp@10.0.0.2", 1), byUserAndAddress.overrides());
        var byUser = ConfigLoader.parse("baton.yaml", NODES + "quotas:\n  key: user\n  clients:\n    rancher: 80\n").quotas();
        assertEquals(java.util.Map.of("rancher", 80), byUser.overrides());
    }

    @Test
    void adminOffLoopbackIsAcceptedWithAToken() throws ConfigException {
        BatonConfig config = ConfigLoader.parse("baton.yaml", "admin:\n  listen: 0.0.0.0:6034\n  token: abc\n" + NODES);
        assertEquals("abc", config.adminToken());
    }

    @Test
    void aTokenEndingInANewlineIsReadWithoutIt() throws ConfigException {
        BatonConfig config = ConfigLoader.parse("baton.yaml", "admin:\n  token: \"abc\\n\"\n" + NODES);
        assertEquals("abc", config.adminToken());
    }

    @Test
    void aHostNameThatLooksLikeLoopbackIsNotLoopback() {
        assertEquals("baton.yaml: admin.listen: 127.evil.example:6034 is not a loopback address and no admin.token (or "
                + "admin.token-env) is set; the admin API can switch the writer, so it needs a token off loopback",
                error("admin:\n  listen: 127.evil.example:6034\n" + NODES));
    }

    @Test
    void loopbackIsWhereTheAddressResolvesWhateverItsSpelling() throws ConfigException {
        for (String host : new String[]{"127.0.0.1", "127.3.4.5", "localhost", "'[::1]'"}) {
            String listen = host.startsWith("'") ? "'[::1]:6034'" : host + ":6034";
            assertEquals(null, ConfigLoader.parse("baton.yaml", "admin:\n  listen: " + listen + "\n" + NODES).adminToken(), host);
        }
    }

    @Test
    void listenAndAdminListenOnPortZeroLeaveThePortToTheSystem() throws ConfigException {
        BatonConfig config = ConfigLoader.parse("baton.yaml", "listen: 127.0.0.1:0\nadmin:\n  listen: 127.0.0.1:0\n" + NODES);
        assertEquals(new HostPort("127.0.0.1", 0), config.listen());
        assertEquals(new HostPort("127.0.0.1", 0), config.adminListen());
    }

    @Test
    void anElectingBatonOnPortZeroWithoutAnInstanceNameIsWarnedThatItsNameIsNotItsOwn() throws ConfigException {
        String galera = "cluster:\n  type: galera\n  monitor: {user: m, password: p}\n  nodes:\n    - {name: a, address: h:1}\n";
        List<String> warnings = new ArrayList<>();
        BatonConfig config = ConfigLoader.parse("baton.yaml", "listen: 127.0.0.1:0\n" + galera, warnings::add);
        assertEquals(List.of("baton.yaml: instance-name: not set and listen port 0, so this Baton is named '"
                + config.cluster().instanceName() + "' like any other on this host with port 0; give each Baton its own "
                + "instance-name"), warnings);
        warnings.clear();
        ConfigLoader.parse("baton.yaml", "listen: 127.0.0.1:0\ninstance-name: b1\n" + galera, warnings::add);
        assertEquals(List.of(), warnings);
    }

    @Test
    void ipv6AddressesNeedBrackets() throws ConfigException {
        assertEquals("baton.yaml: listen: bad address: '::1:6033' is not host:port (write IPv6 addresses as [addr]:port)",
                error("listen: '::1:6033'\n" + NODES));
        assertEquals(new HostPort("::1", 6033), ConfigLoader.parse("baton.yaml", "listen: '[::1]:6033'\n" + NODES).listen());
    }

    @Test
    void logLevelIsReadInAnyCaseAndUnsetWithoutTheKey() throws Exception {
        assertEquals(BatonConfig.LogLevel.DEBUG, ConfigLoader.parse("baton.yaml", NODES + "log-level: DEBUG\n").logLevel());
        assertEquals(BatonConfig.LogLevel.WARN, ConfigLoader.parse("baton.yaml", NODES + "log-level: warn\n").logLevel());
        assertEquals(null, ConfigLoader.parse("baton.yaml", NODES).logLevel());
    }
}
