//! One client connection through the layer. Requests are read in order; each is forwarded
//! (possibly rewritten), answered here, or both; a queue of slots in request order makes the
//! answers go back in request order too, as Kafka answers (clients pipeline).

use anyhow::{bail, Context as _};
use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, CreatePartitionsRequest, CreateTopicsRequest, CreateTopicsResponse,
    DeleteTopicsRequest, DescribeConfigsResponse, FetchRequest, FetchResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, MetadataResponse,
    ProduceRequest, ProduceResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::admin::{
    deleted_topics, deny_describe_configs, deny_metadata, finish_alter_configs,
    finish_create_topics, forget_deleted, plan_alter_configs, plan_create_topics, AlterConfigsPlan,
    CreateTopicsPlan,
};
use super::produce::{abandon, merge, plan, ProducePlan};
use super::txn_index::{self, ReadCommitted};
use super::{fetch_repair, StrictState};
use crate::front::frames::{encode_response, read_frame, write_frame};
use crate::front::relay::{rewrite_addresses, Advertised};

/// What to do with the answer to one request.
enum Post {
    /// Relay the upstream's answer as it is.
    Relay,
    /// Read the upstream's answer and send nothing (acks=0 Produce).
    Swallow,
    /// Broker addresses rewritten to the layer's (and denied topics hidden in Metadata).
    Addresses,
    DescribeConfigs,
    /// LogAppendTime batches' CRCs recomputed (Tansu leaves them stale); read_committed
    /// answers cut at the last stable offset, with their aborted transactions listed.
    Fetch(Option<ReadCommitted>),
    Produce(ProducePlan),
    CreateTopics(CreateTopicsPlan),
    AlterConfigs(AlterConfigsPlan),
    DeleteTopics(Vec<String>),
    /// Partitions added: the topics' cached partition counts are dropped.
    TopicsChanged(Vec<String>),
}

/// One expected answer, in request order.
struct Slot {
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    /// The upstream answers this request (else the layer answers alone).
    upstream: bool,
    post: Post,
}

pub(crate) async fn serve_strict<S: AsyncRead + AsyncWrite + Unpin>(
    client: S,
    upstream: TcpStream,
    advertised: &Advertised,
    state: &StrictState,
) -> anyhow::Result<()> {
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut upstream_read, mut upstream_write) = upstream.into_split();
    let (slots, mut queue) = mpsc::unbounded_channel::<Slot>();

    let requests = async move {
        while let Some(frame) = read_frame(&mut client_read).await? {
            match intercept(state, frame).await? {
                (Some(slot), Some(forward)) => {
                    // The slot first: the response side must expect the answer before it can come.
                    slots.send(slot).ok();
                    write_frame(&mut upstream_write, &forward).await?;
                }
                (Some(slot), None) => {
                    slots.send(slot).ok();
                }
                (None, Some(forward)) => write_frame(&mut upstream_write, &forward).await?,
                (None, None) => {}
            }
        }
        upstream_write.shutdown().await.ok();
        anyhow::Ok(())
    };
    let responses = async {
        let mut probe = [0u8; 1];
        loop {
            let slot = tokio::select! {
                // Slots first: a slot is queued before its request is written upstream, so an
                // answer never arrives before the slot that expects it.
                biased;
                slot = queue.recv() => match slot {
                    Some(slot) => slot,
                    None => break,
                },
                // Nothing outstanding: only the upstream closing (a broker restart) can happen;
                // close the client's connection at once, as the broker's own would be.
                peeked = upstream_read.peek(&mut probe) => match peeked? {
                    0 => break,
                    _ => bail!("upstream sent a frame no request asked for"),
                },
            };
            let answer = if slot.upstream {
                match read_frame(&mut upstream_read).await {
                    Ok(Some(frame)) => Some(frame),
                    lost => {
                        if let Post::Produce(plan) = &slot.post {
                            abandon(state, plan);
                        }
                        lost?;
                        bail!("upstream closed the connection with requests outstanding");
                    }
                }
            } else {
                None
            };
            if let Some(out) = finish(state, advertised, slot, answer).await? {
                write_frame(&mut client_write, &out).await?;
            }
        }
        client_write.shutdown().await.ok();
        anyhow::Ok(())
    };
    let result = tokio::try_join!(requests, responses).map(|_| ());
    // Batches forwarded on this connection and never answered have an unknown outcome: forget
    // them, so a retry on another connection is checked against what was answered.
    queue.close();
    while let Ok(slot) = queue.try_recv() {
        if let Post::Produce(plan) = &slot.post {
            abandon(state, plan);
        }
    }
    result
}

/// Decodes a request, checks it, and returns the slot for its answer (none for acks=0 Produce)
/// and the frame to forward (none if the layer answers alone).
async fn intercept(
    state: &StrictState,
    frame: Bytes,
) -> anyhow::Result<(Option<Slot>, Option<Bytes>)> {
    let Some((key, version, correlation_id)) = crate::front::frames::peek_request(&frame) else {
        bail!("request frame shorter than a header");
    };
    let Ok(api) = ApiKey::try_from(key) else {
        // Unknown to us: the upstream answers (or closes) as it sees fit.
        return Ok((None, Some(frame)));
    };
    state.requests.record(api, version, &frame);
    let slot = |upstream: bool, post: Post| Slot {
        api,
        version,
        correlation_id,
        upstream,
        post,
    };
    let header_version = api.request_header_version(version);
    let mut body = frame.clone();
    let decode_header = |body: &mut Bytes| {
        RequestHeader::decode(body, header_version).context("strict: request header")
    };
    match api {
        ApiKey::Produce => {
            let header = decode_header(&mut body)?;
            let request = ProduceRequest::decode(&mut body, version).context("Produce")?;
            let acks = request.acks;
            let plan = plan(state, request).await;
            let forward = match &plan.forward {
                Some(r) => Some(encode_request(&header, header_version, version, r)?),
                None => None,
            };
            if acks == 0 {
                // Kafka answers no acks=0 Produce (it closes the connection on an error); Tansu
                // 0.6 answers the ones it gets, so that answer is read and dropped.
                abandon(state, &plan);
                let slot = forward.is_some().then(|| slot(true, Post::Swallow));
                return Ok((slot, forward));
            }
            Ok((Some(slot(forward.is_some(), Post::Produce(plan))), forward))
        }
        ApiKey::CreateTopics => {
            let header = decode_header(&mut body)?;
            let request =
                CreateTopicsRequest::decode(&mut body, version).context("CreateTopics")?;
            let (forward, plan) = plan_create_topics(state, request);
            let forward = match forward {
                Some(r) => Some(encode_request(&header, header_version, version, &r)?),
                None => None,
            };
            Ok((
                Some(slot(forward.is_some(), Post::CreateTopics(plan))),
                forward,
            ))
        }
        ApiKey::IncrementalAlterConfigs => {
            let header = decode_header(&mut body)?;
            let request = IncrementalAlterConfigsRequest::decode(&mut body, version)
                .context("IncrementalAlterConfigs")?;
            let (forward, plan) = plan_alter_configs(state, request);
            let forward = match forward {
                Some(r) => Some(encode_request(&header, header_version, version, &r)?),
                None => None,
            };
            Ok((
                Some(slot(forward.is_some(), Post::AlterConfigs(plan))),
                forward,
            ))
        }
        ApiKey::DeleteTopics => {
            decode_header(&mut body)?;
            let request =
                DeleteTopicsRequest::decode(&mut body, version).context("DeleteTopics")?;
            let topics = deleted_topics(&request);
            Ok((Some(slot(true, Post::DeleteTopics(topics))), Some(frame)))
        }
        ApiKey::DescribeConfigs => Ok((Some(slot(true, Post::DescribeConfigs)), Some(frame))),
        ApiKey::CreatePartitions => {
            decode_header(&mut body)?;
            let request =
                CreatePartitionsRequest::decode(&mut body, version).context("CreatePartitions")?;
            let topics = request.topics.iter().map(|t| t.name.to_string()).collect();
            Ok((Some(slot(true, Post::TopicsChanged(topics))), Some(frame)))
        }
        ApiKey::Fetch => {
            decode_header(&mut body)?;
            let request = FetchRequest::decode(&mut body, version).context("Fetch")?;
            let plan = txn_index::read_committed(&request, version);
            Ok((Some(slot(true, Post::Fetch(plan))), Some(frame)))
        }
        ApiKey::Metadata | ApiKey::FindCoordinator | ApiKey::DescribeCluster => {
            Ok((Some(slot(true, Post::Addresses)), Some(frame)))
        }
        _ => Ok((Some(slot(true, Post::Relay)), Some(frame))),
    }
}

fn encode_request<R: Encodable>(
    header: &RequestHeader,
    header_version: i16,
    version: i16,
    body: &R,
) -> anyhow::Result<Bytes> {
    let mut out = BytesMut::new();
    header.encode(&mut out, header_version)?;
    body.encode(&mut out, version)?;
    Ok(out.freeze())
}

/// Which request an answer belongs to.
#[derive(Clone, Copy)]
struct Request {
    api: ApiKey,
    version: i16,
    correlation_id: i32,
}

/// The upstream answer's body after its header (checking the correlation id).
fn upstream_body<R: Decodable>(req: Request, frame: Option<Bytes>) -> anyhow::Result<Option<R>> {
    let Some(mut frame) = frame else {
        return Ok(None);
    };
    let header = ResponseHeader::decode(&mut frame, req.api.response_header_version(req.version))?;
    if header.correlation_id != req.correlation_id {
        bail!(
            "upstream answered correlation id {} where {} was expected",
            header.correlation_id,
            req.correlation_id
        );
    }
    Ok(Some(R::decode(&mut frame, req.version)?))
}

fn answer<R: Encodable + HeaderVersion>(req: Request, body: &R) -> anyhow::Result<Bytes> {
    encode_response(req.api, req.version, req.correlation_id, body)
}

/// The answer for the client, if it gets one.
async fn finish(
    state: &StrictState,
    advertised: &Advertised,
    slot: Slot,
    frame: Option<Bytes>,
) -> anyhow::Result<Option<Bytes>> {
    if let Post::Swallow = slot.post {
        return Ok(None);
    }
    answer_for(state, advertised, slot, frame).await.map(Some)
}

async fn answer_for(
    state: &StrictState,
    advertised: &Advertised,
    slot: Slot,
    frame: Option<Bytes>,
) -> anyhow::Result<Bytes> {
    let req = Request {
        api: slot.api,
        version: slot.version,
        correlation_id: slot.correlation_id,
    };
    match slot.post {
        Post::Relay | Post::Swallow => frame.context("no upstream answer to relay"),
        Post::Addresses => {
            let frame = frame.context("no upstream answer to rewrite")?;
            let rewritten = rewrite_addresses(&frame, req.api as i16, req.version, advertised)?;
            if req.api != ApiKey::Metadata || state.rules.snapshot().denied_topics.is_empty() {
                return Ok(rewritten);
            }
            let mut body: MetadataResponse =
                upstream_body(req, Some(rewritten))?.context("Metadata")?;
            deny_metadata(state, &mut body);
            answer(req, &body)
        }
        Post::DescribeConfigs => {
            let mut body: DescribeConfigsResponse =
                upstream_body(req, frame)?.context("DescribeConfigs")?;
            deny_describe_configs(state, &mut body);
            answer(req, &body)
        }
        Post::Fetch(read_committed) => {
            let frame = frame.context("no upstream answer to Fetch")?;
            let mut body: FetchResponse =
                upstream_body(req, Some(frame.clone()))?.context("Fetch")?;
            let repaired = fetch_repair::repair(&mut body);
            if let Some(plan) = &read_committed {
                txn_index::apply(state, plan, &mut body).await;
                answer(req, &body)
            } else if repaired {
                answer(req, &body)
            } else {
                Ok(frame)
            }
        }
        Post::TopicsChanged(topics) => {
            for t in &topics {
                state.configs.invalidate(t);
            }
            frame.context("no upstream answer to CreatePartitions")
        }
        Post::DeleteTopics(topics) => {
            forget_deleted(state, &topics);
            frame.context("no upstream answer to DeleteTopics")
        }
        Post::Produce(plan) => {
            let up: Option<ProduceResponse> = upstream_body(req, frame)?;
            answer(req, &merge(state, plan, up))
        }
        Post::CreateTopics(plan) => {
            let up: Option<CreateTopicsResponse> = upstream_body(req, frame)?;
            answer(req, &finish_create_topics(state, plan, up))
        }
        Post::AlterConfigs(plan) => {
            let up: Option<IncrementalAlterConfigsResponse> = upstream_body(req, frame)?;
            answer(req, &finish_alter_configs(state, plan, up))
        }
    }
}
