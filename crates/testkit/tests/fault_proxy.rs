//! The fault proxy between a plain TCP client and small upstream servers, and in front of
//! Tansu. Timing is asserted only as "has not arrived yet" under a long fault, never as an
//! upper bound on how fast something happens.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use kafka_protocol::messages::MetadataRequest;
use kreplicate_testkit::fault_proxy::FaultProxy;
use kreplicate_testkit::python::{self, Isolation, Partitions, PyRecord};
use kreplicate_testkit::tansu::{raw, TansuOptions};

/// Long enough for anything that should arrive to arrive on a busy CI box.
const ARRIVE: Duration = Duration::from_secs(10);
/// How long "nothing arrives" is watched.
const QUIET: Duration = Duration::from_millis(300);

/// Starts an upstream on a free port; `serve` runs on its own thread per connection.
fn upstream(serve: impl Fn(TcpStream) + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind upstream");
    let addr = listener.local_addr().expect("addr").to_string();
    let serve = Arc::new(serve);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let serve = serve.clone();
            thread::spawn(move || serve(stream));
        }
    });
    addr
}

fn echo_upstream() -> String {
    upstream(|mut s| {
        let mut buf = [0u8; 8192];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 || s.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    })
}

/// Sends `data` on connect, then waits for the client to close.
fn source_upstream(data: Vec<u8>) -> String {
    upstream(move |mut s| {
        let _ = s.write_all(&data);
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
    })
}

/// Records what it receives.
fn sink_upstream() -> (String, Arc<Mutex<Vec<u8>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let got2 = got.clone();
    let addr = upstream(move |mut s| {
        let mut buf = [0u8; 8192];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            got2.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    (addr, got)
}

fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect to proxy");
    s.set_read_timeout(Some(ARRIVE)).unwrap();
    s
}

/// Pattern bytes that make any reordering or corruption visible.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// True if nothing (no data, no close) arrives on `s` within `QUIET`.
fn quiet(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(QUIET)).unwrap();
    let mut b = [0u8; 1];
    let r = s.read(&mut b);
    s.set_read_timeout(Some(ARRIVE)).unwrap();
    matches!(r, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut))
}

/// Reads until EOF; panics on timeout.
fn read_to_eof(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    match s.read_to_end(&mut out) {
        Ok(_) => out,
        Err(e) if e.kind() == ErrorKind::ConnectionReset => out,
        Err(e) => panic!("no EOF after {} bytes: {e}", out.len()),
    }
}

fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + ARRIVE;
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn bytes_pass_unchanged_both_ways_and_are_counted() {
    let proxy = FaultProxy::start(&echo_upstream()).expect("proxy");
    let mut s = connect(&proxy.addr());
    let data = pattern(1 << 20);
    let writer = {
        let mut w = s.try_clone().unwrap();
        let data = data.clone();
        thread::spawn(move || w.write_all(&data).unwrap())
    };
    let mut back = vec![0u8; data.len()];
    s.read_exact(&mut back).expect("echo");
    writer.join().unwrap();
    assert!(back == data, "echoed bytes differ");
    let stats = proxy.stats();
    assert_eq!(stats.connections_accepted, 1);
    assert_eq!(stats.open_connections, 1);
    assert_eq!(stats.bytes_client_to_upstream, data.len() as u64);
    assert_eq!(stats.bytes_upstream_to_client, data.len() as u64);
    drop(s);
    wait_until("connection closed", || proxy.stats().open_connections == 0);
}

#[test]
fn drop_all_closes_open_connections_and_new_ones_work() {
    let proxy = FaultProxy::start(&echo_upstream()).expect("proxy");
    let mut a = connect(&proxy.addr());
    let mut b = connect(&proxy.addr());
    for s in [&mut a, &mut b] {
        s.write_all(b"ping").unwrap();
        let mut r = [0u8; 4];
        s.read_exact(&mut r).unwrap();
        assert_eq!(&r, b"ping");
    }
    proxy.drop_all();
    assert_eq!(read_to_eof(&mut a), b"");
    assert_eq!(read_to_eof(&mut b), b"");
    wait_until("both closed", || proxy.stats().open_connections == 0);

    let mut c = connect(&proxy.addr());
    c.write_all(b"again").unwrap();
    let mut r = [0u8; 5];
    c.read_exact(&mut r).unwrap();
    assert_eq!(&r, b"again");
    assert_eq!(proxy.stats().connections_accepted, 3);
}

#[test]
fn stall_holds_data_until_released() {
    let proxy = FaultProxy::start(&echo_upstream()).expect("proxy");
    let mut s = connect(&proxy.addr());
    s.write_all(b"before").unwrap();
    let mut r = [0u8; 6];
    s.read_exact(&mut r).unwrap();

    proxy.stall(true);
    s.write_all(b"held back").unwrap();
    assert!(quiet(&mut s), "data passed a stalled proxy");
    assert_eq!(proxy.stats().bytes_client_to_upstream, 6);

    proxy.stall(false);
    let mut r = [0u8; 9];
    s.read_exact(&mut r).expect("released data");
    assert_eq!(&r, b"held back");
    assert_eq!(proxy.stats().bytes_client_to_upstream, 15);
}

#[test]
fn delay_holds_each_chunk() {
    let proxy = FaultProxy::start(&echo_upstream()).expect("proxy");
    let mut s = connect(&proxy.addr());
    proxy.set_delay(Duration::from_secs(2));
    s.write_all(b"slow").unwrap();
    assert!(
        quiet(&mut s),
        "a 2 s delay let data through within {QUIET:?}"
    );
    let mut r = [0u8; 4];
    s.read_exact(&mut r).expect("delayed data arrives");
    assert_eq!(&r, b"slow");

    proxy.set_delay(Duration::ZERO);
    s.write_all(b"fast").unwrap();
    s.read_exact(&mut r).unwrap();
    assert_eq!(&r, b"fast");
}

#[test]
fn bandwidth_limit_spreads_data_out() {
    let data = pattern(4000);
    let proxy = FaultProxy::start(&source_upstream(data.clone())).expect("proxy");
    proxy.set_bandwidth(Some(1000));
    let mut s = connect(&proxy.addr());
    // 4000 bytes at 1000 B/s take about 4 s: all of them cannot be there after 0.3 s.
    s.set_read_timeout(Some(QUIET)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let start = std::time::Instant::now();
    while start.elapsed() < QUIET {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    assert!(
        got.len() < data.len(),
        "all {} bytes arrived at once",
        got.len()
    );
    proxy.set_bandwidth(None);
    s.set_read_timeout(Some(ARRIVE)).unwrap();
    let mut rest = vec![0u8; data.len() - got.len()];
    s.read_exact(&mut rest)
        .expect("rest after lifting the limit");
    got.extend_from_slice(&rest);
    assert!(got == data, "bytes differ under bandwidth limit");
}

#[test]
fn drop_after_bytes_forwards_exactly_n_then_closes() {
    let data = pattern(1000);
    let proxy = FaultProxy::start(&source_upstream(data.clone())).expect("proxy");
    proxy.drop_after_bytes(100);
    let mut s = connect(&proxy.addr());
    assert_eq!(read_to_eof(&mut s), data[..100].to_vec());
    assert_eq!(proxy.stats().bytes_upstream_to_client, 100);

    // Still on for new connections, until cleared.
    let mut s = connect(&proxy.addr());
    assert_eq!(read_to_eof(&mut s), data[..100].to_vec());
    proxy.clear_faults();
    let mut s = connect(&proxy.addr());
    let mut all = vec![0u8; data.len()];
    s.read_exact(&mut all).unwrap();
    assert!(all == data);
}

#[test]
fn drop_after_bytes_counts_client_to_upstream_too() {
    let (addr, got) = sink_upstream();
    let proxy = FaultProxy::start(&addr).expect("proxy");
    let mut s = connect(&proxy.addr());
    s.write_all(b"0123456789").unwrap();
    wait_until("first bytes upstream", || got.lock().unwrap().len() == 10);
    proxy.drop_after_bytes(5);
    s.write_all(b"abcdefghij").unwrap();
    assert_eq!(read_to_eof(&mut s), b"");
    wait_until("cut upstream", || got.lock().unwrap().len() == 15);
    assert_eq!(got.lock().unwrap().as_slice(), b"0123456789abcde");
}

#[test]
fn refuse_closes_new_connections_only() {
    let proxy = FaultProxy::start(&echo_upstream()).expect("proxy");
    let mut open = connect(&proxy.addr());
    open.write_all(b"x").unwrap();
    let mut r = [0u8; 1];
    open.read_exact(&mut r).unwrap();

    proxy.refuse(true);
    let mut refused = connect(&proxy.addr());
    assert_eq!(read_to_eof(&mut refused), b"");
    open.write_all(b"y").unwrap();
    open.read_exact(&mut r).unwrap();
    assert_eq!(&r, b"y");

    proxy.refuse(false);
    let mut ok = connect(&proxy.addr());
    ok.write_all(b"z").unwrap();
    ok.read_exact(&mut r).unwrap();
    assert_eq!(&r, b"z");
    let stats = proxy.stats();
    assert_eq!(stats.connections_accepted, 3);
    assert_eq!(stats.connections_refused, 1);
}

#[test]
fn half_open_goes_silent_without_closing_and_never_recovers() {
    let (addr, got) = sink_upstream();
    let proxy = FaultProxy::start(&addr).expect("proxy");
    let mut s = connect(&proxy.addr());
    s.write_all(b"seen").unwrap();
    wait_until("first bytes upstream", || got.lock().unwrap().len() == 4);

    proxy.half_open(true);
    s.write_all(b"lost").unwrap();
    assert!(quiet(&mut s), "half-open connection answered or closed");
    let mut fresh = connect(&proxy.addr());
    fresh.write_all(b"also lost").unwrap();
    assert!(
        quiet(&mut fresh),
        "new connection under half-open answered or closed"
    );

    proxy.half_open(false);
    s.write_all(b"still lost").unwrap();
    assert!(quiet(&mut s));
    assert_eq!(got.lock().unwrap().as_slice(), b"seen");
    assert_eq!(proxy.stats().bytes_client_to_upstream, 4);
    // drop_all still ends dead connections.
    proxy.drop_all();
    assert_eq!(read_to_eof(&mut s), b"");
    assert_eq!(read_to_eof(&mut fresh), b"");
}

#[test]
fn corrupt_flips_exactly_one_byte() {
    let data = pattern(300);
    let proxy = FaultProxy::start(&source_upstream(data.clone())).expect("proxy");
    proxy.corrupt_next_response_byte(200);
    let mut s = connect(&proxy.addr());
    let mut got = vec![0u8; data.len()];
    s.read_exact(&mut got).unwrap();
    let diffs: Vec<usize> = (0..data.len()).filter(|&i| got[i] != data[i]).collect();
    assert_eq!(diffs, vec![200]);
    assert_eq!(got[200], data[200] ^ 0xFF);
    // Once only.
    let mut s = connect(&proxy.addr());
    s.read_exact(&mut got).unwrap();
    assert!(got == data);
}

#[test]
fn dropping_the_proxy_closes_connections_and_the_listener() {
    let proxy = FaultProxy::start(&echo_upstream()).expect("proxy");
    let addr = proxy.addr();
    let mut s = connect(&addr);
    s.write_all(b"x").unwrap();
    let mut r = [0u8; 1];
    s.read_exact(&mut r).unwrap();
    drop(proxy);
    assert_eq!(read_to_eof(&mut s), b"");
    assert!(TcpStream::connect(&addr).is_err(), "listener still open");
}

#[tokio::test]
async fn tansu_behind_the_proxy_advertises_the_proxy() {
    let (broker, proxy) = FaultProxy::with_tansu(TansuOptions::default()).expect("tansu + proxy");
    assert_eq!(broker.advertised(), proxy.addr());
    let metadata = raw::request(
        &proxy.addr(),
        1,
        &MetadataRequest::default().with_topics(None),
        ARRIVE,
    )
    .expect("metadata through the proxy");
    let ports: Vec<i32> = metadata.brokers.iter().map(|b| b.port).collect();
    assert_eq!(ports, vec![i32::from(proxy.port())]);

    let records: Vec<PyRecord> = (0..20u8)
        .map(|i| PyRecord {
            partition: Some(0),
            value: Some(vec![i; 1000]),
            ..PyRecord::default()
        })
        .collect();
    python::produce(&proxy.addr(), "via-proxy", &records, "none", &[])
        .await
        .expect("produce through the proxy");
    let before = proxy.stats().bytes_upstream_to_client;
    let got = python::consume(
        &proxy.addr(),
        "via-proxy",
        Partitions::Only(vec![0]),
        20,
        Isolation::ReadUncommitted,
        ARRIVE,
    )
    .await
    .expect("consume through the proxy");
    assert_eq!(got.len(), 20);
    assert!(got.iter().zip(&records).all(|(g, r)| g.value == r.value));
    // The fetched records came through the proxy, not around it.
    assert!(proxy.stats().bytes_upstream_to_client - before >= 20_000);
    assert!(proxy.stats().bytes_client_to_upstream >= 20_000);
}
