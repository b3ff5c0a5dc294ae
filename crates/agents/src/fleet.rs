//! The fleet itself: build devices from the seed, onboard them, then report until stopped.
//!
//! One thread drives every device. Each time the chain grows a block it lets every hotspot that
//! the new block hashes select send a beacon, sends whatever heartbeats, sensor readings and data
//! receipts are due, has every hotspot in range witness the beacons, and posts the lot.
//!
//! Counters: the app judges a block's reports in the order beacons, everything else, witnesses
//! (so a witness may ride in the block of its beacon), and a device's counters must increase in
//! *that* order. So the fleet numbers each round's reports in the same order, and sends one round
//! per block, so that one round's reports share a block.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use groundwork_app::modules::devices::state::DeviceKind;
use groundwork_app::modules::reports::selected_to_beacon;
use groundwork_app::tx::build_signed_tx;
use groundwork_primitives::{Address, Amount, DeviceId, Hash, SigningKey, sha256};
use groundwork_proto::v1;
use groundwork_proto::v1::report_body::Kind;

use crate::client::{BatchAnswer, NodeClient};
use crate::config::{FleetConfig, OwnerFunding};
use crate::credits::{Buyer, PayerWallets};
use crate::placement::{self, GeoPoint};
use crate::report::{ClassCounts, DeviceRole, DeviceSummary, FleetReport};
use crate::rng::SimRng;
use crate::sensors::SensorModel;
use crate::signing::{self, KeyRole};
use crate::{FleetError, Result};

/// Refusal reasons kept per device.
const KEPT_REFUSAL_REASONS: usize = 5;
/// Old reports a replayer keeps to resend.
const REPLAY_ARCHIVE: usize = 32;
/// Old reports a replayer resends each time.
const REPLAYS_PER_ROUND: usize = 3;
/// Consecutive failed node calls before the fleet gives up.
const MAX_CONSECUTIVE_FAILURES: u32 = 20;
/// Longest wait after a 429.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Random streams, one per purpose, so adding draws to one leaves the others unchanged.
mod stream {
    pub const ROLES: u64 = 1;
    pub const PLACES: u64 = 2;
    pub const LIFE: u64 = 3;
    pub const RADIO: u64 = 4;
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One simulated device.
#[derive(Debug)]
pub struct SimDevice {
    /// Position in the fleet.
    pub index: usize,
    /// Its key.
    pub key: SigningKey,
    /// Its id.
    pub id: DeviceId,
    /// Hotspot or sensor.
    pub kind: DeviceKind,
    /// Honest or which cheat.
    pub role: DeviceRole,
    /// Where its radio really is.
    pub true_cell: u64,
    /// The cell it asserts.
    pub asserted_cell: u64,
    /// Which owner (index into the owners) holds it.
    pub owner: usize,
    next_counter: u64,
    boot_ms: u64,
    next_heartbeat_ms: u64,
    next_sensor_ms: u64,
    next_data_ms: u64,
    next_replay_ms: u64,
    session: u64,
    sensor: Option<SensorModel>,
    archive: Vec<Vec<u8>>,
    sent: u64,
    accepted: u64,
    refused: u64,
    refusal_reasons: Vec<String>,
    witnessed_cheater_counters: Vec<u64>,
}

impl SimDevice {
    fn class(&self) -> &'static str {
        match (self.role, self.kind) {
            (DeviceRole::Honest, DeviceKind::Hotspot) => "honest_hotspot",
            (DeviceRole::Honest, _) => "honest_sensor",
            (DeviceRole::LocationLiar, _) => "location_liar",
            (DeviceRole::WitnessRing, _) => "witness_ring",
            (DeviceRole::Replayer, _) => "replayer",
        }
    }

    fn is_radio(&self) -> bool {
        self.kind == DeviceKind::Hotspot
    }

    fn take_counter(&mut self) -> u64 {
        let counter = self.next_counter;
        self.next_counter += 1;
        counter
    }
}

/// Builds the fleet's devices: keys, kinds, roles and places, all from the seed.
///
/// Honest devices take the first indices (so changing the cheater counts does not reshuffle
/// them), then the location liars, the witness ring and the replayers.
pub fn build_devices(config: &FleetConfig) -> Result<Vec<SimDevice>> {
    config.validate().map_err(FleetError::Config)?;
    let cheaters = config.cheaters;
    let honest = config.devices - cheaters.total();
    let mut roles_rng = SimRng::new(config.seed, stream::ROLES);
    let mut places = SimRng::new(config.seed, stream::PLACES);
    let centre = GeoPoint {
        lat: config.city.lat,
        lng: config.city.lng,
    };
    let honest_hotspots = (honest as f64 * config.hotspot_share).round() as usize;
    let radius = config.radius_m.unwrap_or_else(|| {
        (config.min_hotspot_separation_m
            * ((honest_hotspots + cheaters.location_liars) as f64).sqrt())
        .max(3_000.0)
    });
    let ring_cells = placement::ring_cells(
        &mut places,
        centre,
        config.ring_radius_m,
        cheaters.witness_ring,
    )?;

    let mut devices = Vec::with_capacity(config.devices);
    let mut hotspot_cells: Vec<u64> = Vec::new();
    for index in 0..config.devices {
        let (role, kind) = if index < honest {
            // Spread hotspots evenly through the honest indices.
            let is_hotspot = ((index + 1) as f64 * config.hotspot_share).floor()
                > (index as f64 * config.hotspot_share).floor();
            (
                DeviceRole::Honest,
                if is_hotspot {
                    DeviceKind::Hotspot
                } else {
                    DeviceKind::Sensor
                },
            )
        } else if index < honest + cheaters.location_liars {
            (DeviceRole::LocationLiar, DeviceKind::Hotspot)
        } else if index < honest + cheaters.location_liars + cheaters.witness_ring {
            (DeviceRole::WitnessRing, DeviceKind::Hotspot)
        } else {
            (DeviceRole::Replayer, DeviceKind::Sensor)
        };
        let (true_cell, asserted_cell) = match role {
            DeviceRole::WitnessRing => {
                let cell = ring_cells[index - honest - cheaters.location_liars];
                (cell, cell)
            }
            _ if kind == DeviceKind::Hotspot => {
                let cell = placement::place_separated(
                    &mut places,
                    centre,
                    radius,
                    &hotspot_cells,
                    config.min_hotspot_separation_m,
                    400,
                )?;
                hotspot_cells.push(cell);
                if role == DeviceRole::LocationLiar {
                    let offset = places.range(config.liar_offset_m.0, config.liar_offset_m.1);
                    (
                        cell,
                        placement::claimed_far_away(&mut places, cell, offset)?,
                    )
                } else {
                    (cell, cell)
                }
            }
            _ => {
                let cell = placement::random_point_in_disc(&mut places, centre, radius).cell()?;
                (cell, cell)
            }
        };
        let key = signing::device_key(config.seed, index as u64);
        let owner = match config.owner {
            OwnerFunding::Key(_) => 0,
            OwnerFunding::Faucet { devices_per_owner } => index / devices_per_owner.max(1),
        };
        devices.push(SimDevice {
            index,
            id: DeviceId::from_public_key(&key.public_key()),
            key,
            kind,
            role,
            true_cell,
            asserted_cell,
            owner,
            next_counter: 1,
            boot_ms: 0,
            next_heartbeat_ms: 0,
            next_sensor_ms: 0,
            next_data_ms: 0,
            next_replay_ms: 0,
            session: 0,
            sensor: (kind == DeviceKind::Sensor)
                .then(|| SensorModel::new(&mut roles_rng, config.city.lng)),
            archive: Vec::new(),
            sent: 0,
            accepted: 0,
            refused: 0,
            refusal_reasons: Vec::new(),
            witnessed_cheater_counters: Vec::new(),
        });
    }
    Ok(devices)
}

/// The owner keys.
fn owner_keys(config: &FleetConfig) -> Vec<SigningKey> {
    match &config.owner {
        OwnerFunding::Key(key) => vec![key.clone()],
        OwnerFunding::Faucet { devices_per_owner } => {
            let owners = config.devices.div_ceil((*devices_per_owner).max(1)).max(1);
            (0..owners)
                .map(|i| signing::fleet_key(KeyRole::Owner, config.seed, i as u64))
                .collect()
        }
    }
}

/// Onboards every device the chain does not know yet; picks up the counters of those it knows.
/// Returns how many were onboarded.
fn onboard(
    config: &FleetConfig,
    client: &NodeClient,
    chain_id: &str,
    decimals: u8,
    devices: &mut [SimDevice],
) -> Result<u64> {
    let owners = owner_keys(config);
    let mut to_onboard: Vec<Vec<usize>> = vec![Vec::new(); owners.len()];
    for (i, device) in devices.iter_mut().enumerate() {
        match client.device(&device.id)? {
            Some(existing) => {
                device.next_counter = existing.last_report_counter.map_or(1, |c| c + 1);
                let owner =
                    Address::from_public_key(&owners[device.owner].public_key()).to_string();
                if existing.owner != owner {
                    return Err(FleetError::Onboarding(format!(
                        "device {} (index {}) is onboarded already, owned by {} rather than {owner}: use another --seed",
                        device.id, device.index, existing.owner
                    )));
                }
            }
            None => to_onboard[device.owner].push(i),
        }
    }
    let one_token = Amount::one_token(decimals)
        .map_err(|e| FleetError::Config(format!("token decimals {decimals}: {e}")))?;
    let mut onboarded = 0;
    for (owner_index, indices) in to_onboard.iter().enumerate() {
        if indices.is_empty() {
            continue;
        }
        let owner = &owners[owner_index];
        let address = Address::from_public_key(&owner.public_key());
        let transactions = indices.len().div_ceil(config.onboard_batch) as u128;
        let stakes: u128 = indices
            .iter()
            .map(|&i| config.devices_params.stake_for(devices[i].kind).0)
            .sum();
        let needed = stakes + transactions * config.fee.0;
        let balance = client.balance(&address)?;
        if balance < needed {
            match config.owner {
                OwnerFunding::Key(_) => {
                    return Err(FleetError::Onboarding(format!(
                        "owner {address} holds {} base units but {} devices need {needed} (stakes and fees): fund it, or use the faucet",
                        balance,
                        indices.len()
                    )));
                }
                OwnerFunding::Faucet { .. } => {
                    fund_from_faucet(client, &address, needed - balance, one_token)?
                }
            }
        }
        for chunk in indices.chunks(config.onboard_batch) {
            let messages = chunk
                .iter()
                .map(|&i| {
                    let d = &devices[i];
                    let (gain, elevation) = if d.is_radio() {
                        (config.radio.antenna_gain_dbi_x10, config.radio.elevation_m)
                    } else {
                        (0, 2)
                    };
                    signing::onboard_message(
                        chain_id,
                        &config.maker,
                        &d.key,
                        d.kind,
                        &address,
                        Some(d.asserted_cell),
                        gain,
                        elevation,
                    )
                })
                .collect();
            let nonce = client.next_nonce(&address)?;
            let tx = build_signed_tx(
                owner,
                chain_id,
                nonce,
                config.fee,
                messages,
                "agents: onboard simulated devices",
            );
            let outcome = client.submit_tx_and_wait(&tx)?;
            if outcome.status != "committed" || outcome.code != Some(0) {
                return Err(FleetError::Onboarding(format!(
                    "onboarding transaction {} (code {:?}): {}",
                    outcome.status,
                    outcome.code,
                    outcome.error.unwrap_or_default()
                )));
            }
            onboarded += chunk.len() as u64;
            tracing::info!(devices = chunk.len(), owner = %address, "onboarded devices");
        }
    }
    Ok(onboarded)
}

/// Asks the faucet for `missing` base units (rounded up to whole tokens), in requests of at most
/// the faucet's default cap of 1,000 tokens.
pub(crate) fn fund_from_faucet(
    client: &NodeClient,
    address: &Address,
    missing: u128,
    one_token: Amount,
) -> Result<()> {
    const FAUCET_MAX_TOKENS: u128 = 1_000;
    let mut tokens = missing.div_ceil(one_token.0.max(1)) + 1;
    while tokens > 0 {
        let request = tokens.min(FAUCET_MAX_TOKENS);
        let outcome = client.faucet(address, request as u64)?;
        if outcome.code.is_some_and(|c| c != 0) {
            return Err(FleetError::Onboarding(format!(
                "the faucet could not pay {address}: {}",
                outcome.error.unwrap_or_default()
            )));
        }
        tokens -= request;
    }
    Ok(())
}

/// A beacon sent this tick, for the witnesses.
struct SentBeacon {
    beaconer: usize,
    payload_id: [u8; 32],
    timestamp_ms: u64,
}

/// The fleet's state while it reports.
struct Reporter<'a> {
    config: &'a FleetConfig,
    client: NodeClient,
    chain_id: String,
    decimals: u8,
    devices: Vec<SimDevice>,
    payers: PayerWallets,
    life: SimRng,
    radio: SimRng,
    beacons: u64,
    witnesses: u64,
    queue_full_retries: u64,
}

impl Reporter<'_> {
    fn schedule(&mut self, now: u64) {
        let heartbeat_ms = self.config.heartbeat_interval().as_millis() as u64;
        let sensor_ms = self.config.cadences.sensor.as_millis() as u64;
        let data_ms = self.config.cadences.data_transfer.as_millis() as u64;
        let replay_ms = self.config.cadences.replay.as_millis() as u64;
        for device in &mut self.devices {
            // Staggered so the fleet does not beat in lockstep, but soon: a short run still sees some.
            device.boot_ms = now.saturating_sub(3_600_000 + self.life.below(30 * 86_400_000));
            device.next_heartbeat_ms = now + self.life.below(heartbeat_ms.clamp(1, 5_000));
            device.next_sensor_ms = now + self.life.below(sensor_ms.clamp(1, 5_000));
            device.next_data_ms = now + self.life.below(data_ms.max(1));
            device.next_replay_ms = now + replay_ms;
            device.session = now.saturating_mul(1_000);
        }
    }

    fn push(
        &mut self,
        out: &mut Vec<(usize, Vec<u8>)>,
        device: usize,
        timestamp_ms: u64,
        kind: Kind,
    ) -> u64 {
        let d = &mut self.devices[device];
        let counter = d.take_counter();
        out.push((
            device,
            signing::sign_report(&d.key, &self.chain_id, counter, timestamp_ms, kind),
        ));
        counter
    }

    fn beacon(
        &mut self,
        out: &mut Vec<(usize, Vec<u8>)>,
        device: usize,
        entropy_height: u64,
        now: u64,
    ) -> SentBeacon {
        let mut payload = [0u8; 32];
        for chunk in payload.chunks_mut(8) {
            chunk.copy_from_slice(&self.radio.next_u64().to_be_bytes());
        }
        let payload_id = sha256(&payload).0;
        let beacon = v1::Beacon {
            entropy_height,
            frequency_hz: self.config.radio.frequency_hz,
            tx_power_dbm_x10: self.config.radio.tx_power_dbm_x10,
            payload_id: payload_id.to_vec(),
        };
        self.push(out, device, now, Kind::Beacon(beacon));
        self.beacons += 1;
        SentBeacon {
            beaconer: device,
            payload_id,
            timestamp_ms: now,
        }
    }

    /// Who hears a beacon, and what they say they heard.
    fn witness(&mut self, out: &mut Vec<(usize, Vec<u8>)>, beacon: &SentBeacon) {
        let cap = self.config.reports_params.coverage.max_witnesses_per_beacon as usize;
        let max_distance = self.config.reports_params.coverage.max_witness_distance_m as f64;
        let beaconer = &self.devices[beacon.beaconer];
        let (from_cell, beaconer_role) = (beaconer.true_cell, beaconer.role);
        let mut heard: Vec<(usize, i32, i32)> = Vec::new();
        let mut fabricated: Vec<(usize, i32, i32)> = Vec::new();
        for (w, device) in self.devices.iter().enumerate() {
            if w == beacon.beaconer || !device.is_radio() {
                continue;
            }
            if beaconer_role == DeviceRole::WitnessRing && device.role == DeviceRole::WitnessRing {
                // The ring vouches for its own, loudly, whatever the distance.
                let rssi =
                    self.config.ring_claimed_rssi_dbm_x10 + (self.radio.normal() * 30.0) as i32;
                fabricated.push((w, rssi, 80 + (self.radio.normal() * 10.0) as i32));
                continue;
            }
            // The chain ignores witnesses beyond its distance limit; a hotspot does not file them.
            if placement::cell_distance_m(from_cell, device.true_cell) > max_distance {
                continue;
            }
            if let Some(reception) =
                self.config
                    .radio
                    .receive(&mut self.radio, from_cell, device.true_cell)
            {
                heard.push((w, reception.rssi_dbm_x10, reception.snr_db_x10));
            }
        }
        // Only so many witnesses count per beacon: the strongest are filed.
        heard.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        heard.truncate(cap);
        heard.extend(fabricated);
        let beaconer_id = self.devices[beacon.beaconer].id;
        for (w, rssi, snr) in heard {
            let received_at_ms = beacon.timestamp_ms + 20 + self.radio.below(600);
            let offset_hz = self.radio.range(-2_000.0, 2_000.0) as i64;
            let witness = v1::Witness {
                beaconer: beaconer_id.as_bytes().to_vec(),
                payload_id: beacon.payload_id.to_vec(),
                frequency_hz: self
                    .config
                    .radio
                    .frequency_hz
                    .saturating_add_signed(offset_hz),
                rssi_dbm_x10: rssi,
                snr_db_x10: snr,
                received_at_ms,
            };
            let counter = self.push(out, w, received_at_ms, Kind::Witness(witness));
            if beaconer_role.is_cheater() {
                self.devices[w].witnessed_cheater_counters.push(counter);
            }
            self.witnesses += 1;
        }
    }

    /// Heartbeats, sensor readings, data receipts and replays that are due.
    fn periodic(&mut self, out: &mut Vec<(usize, Vec<u8>)>, now: u64) {
        let heartbeat_ms = self.config.heartbeat_interval().as_millis() as u64;
        let sensor_ms = self.config.cadences.sensor.as_millis() as u64;
        let data_ms = self.config.cadences.data_transfer.as_millis() as f64;
        let replay_ms = self.config.cadences.replay.as_millis() as u64;
        for i in 0..self.devices.len() {
            if self.devices[i].next_heartbeat_ms <= now {
                let uptime_s = now.saturating_sub(self.devices[i].boot_ms) / 1_000;
                self.devices[i].next_heartbeat_ms = now + heartbeat_ms;
                self.push(out, i, now, Kind::Heartbeat(v1::Heartbeat { uptime_s }));
            }
            if self.devices[i].kind == DeviceKind::Sensor && self.devices[i].next_sensor_ms <= now {
                self.devices[i].next_sensor_ms = now + sensor_ms;
                let measurements = match self.devices[i].sensor.as_mut() {
                    Some(sensor) => sensor.read(&mut self.life, now),
                    None => Vec::new(),
                };
                if !measurements.is_empty() {
                    self.push(
                        out,
                        i,
                        now,
                        Kind::Sensor(v1::SensorReading { measurements }),
                    );
                }
            }
            if self.devices[i].kind == DeviceKind::Hotspot && self.devices[i].next_data_ms <= now {
                // Sessions arrive as a Poisson process: exponential gaps with the mean cadence.
                let gap = -data_ms * (1.0 - self.life.unit()).ln();
                self.devices[i].next_data_ms = now + gap.max(1.0) as u64;
                // Payload sizes are heavy-tailed: log-normal around 200 kB.
                let bytes = (200_000.0 * (1.5 * self.life.normal()).exp()).clamp(64.0, 1e9) as u64;
                let payer = self.life.below(self.payers.keys().len() as u64) as usize;
                self.devices[i].session += 1;
                let session = self.devices[i].session;
                // The payer's credits must cover the bytes before it signs for them; a session
                // nobody can pay for is not carried.
                let cost = self.payers.cost(bytes);
                if self
                    .payers
                    .spend(&self.client, &self.chain_id, self.decimals, payer, cost)
                {
                    let receipt = signing::data_transfer(
                        &self.chain_id,
                        &self.payers.keys()[payer],
                        &self.devices[i].id,
                        session,
                        bytes,
                    );
                    self.push(out, i, now, Kind::DataTransfer(receipt));
                }
            }
            if self.devices[i].role == DeviceRole::Replayer && self.devices[i].next_replay_ms <= now
            {
                self.devices[i].next_replay_ms = now + replay_ms;
                let archive = &self.devices[i].archive;
                for k in 0..REPLAYS_PER_ROUND.min(archive.len()) {
                    let pick = (self.life.below(archive.len() as u64) as usize + k) % archive.len();
                    out.push((i, archive[pick].clone()));
                }
            }
        }
    }

    /// Posts reports in batches, waiting and retrying after 429. Returns false when stopped
    /// while waiting.
    fn submit(&mut self, out: Vec<(usize, Vec<u8>)>, stop: &AtomicBool) -> Result<bool> {
        for chunk in out.chunks(self.config.max_batch) {
            let mut backoff = Duration::from_millis(100);
            let mut failures = 0;
            loop {
                let bytes: Vec<Vec<u8>> = chunk.iter().map(|(_, b)| b.clone()).collect();
                match self.client.submit_reports(bytes) {
                    Ok(BatchAnswer::Taken { rejected, .. }) => {
                        let mut refused = vec![None; chunk.len()];
                        for refusal in rejected {
                            if let Some(slot) = refused.get_mut(refusal.index) {
                                *slot = Some(refusal.reason);
                            }
                        }
                        for ((device, bytes), refusal) in chunk.iter().zip(refused) {
                            let d = &mut self.devices[*device];
                            d.sent += 1;
                            match refusal {
                                Some(reason) => {
                                    d.refused += 1;
                                    if d.refusal_reasons.len() < KEPT_REFUSAL_REASONS {
                                        d.refusal_reasons.push(reason);
                                    }
                                }
                                None => {
                                    d.accepted += 1;
                                    if d.role == DeviceRole::Replayer
                                        && d.archive.len() < REPLAY_ARCHIVE
                                    {
                                        d.archive.push(bytes.clone());
                                    }
                                }
                            }
                        }
                        break;
                    }
                    Ok(BatchAnswer::QueueFull) => {
                        self.queue_full_retries += 1;
                        if !sleep_unless_stopped(backoff, stop) {
                            return Ok(false);
                        }
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                    Err(e) => {
                        failures += 1;
                        if stop.load(Ordering::Relaxed) {
                            return Ok(false);
                        }
                        if failures >= 3 {
                            return Err(e);
                        }
                        tracing::warn!(error = %e, "posting reports failed; trying again");
                        if !sleep_unless_stopped(backoff, stop) {
                            return Ok(false);
                        }
                    }
                }
            }
        }
        Ok(true)
    }
}

/// Sleeps `duration` in short steps; false if `stop` was raised meanwhile.
fn sleep_unless_stopped(duration: Duration, stop: &AtomicBool) -> bool {
    let end = Instant::now() + duration;
    while Instant::now() < end {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        std::thread::sleep((end - Instant::now()).min(Duration::from_millis(50)));
    }
    !stop.load(Ordering::Relaxed)
}

/// Runs a fleet until `stop` is raised or `config.duration` passes: builds and onboards the
/// devices (funding owners from the faucet if asked), then reports. Blocking.
///
/// Errors only for broken setups (unknown maker, unfunded owner, unreachable node); reports the
/// node refuses or the chain judges invalid are counted in the [`FleetReport`].
pub fn run_fleet(config: FleetConfig, stop: Arc<AtomicBool>) -> Result<FleetReport> {
    let client = NodeClient::new(&config.node_url);
    let status = client.status()?;
    let chain_id = status.chain_id.clone();
    let mut devices = build_devices(&config)?;
    tracing::info!(devices = devices.len(), city = %config.city.name, chain = %chain_id, "onboarding the fleet");
    let onboarded = onboard(
        &config,
        &client,
        &chain_id,
        status.token_decimals,
        &mut devices,
    )?;

    let payer_keys = (0..config.payers)
        .map(|i| signing::fleet_key(KeyRole::Payer, config.seed, i as u64))
        .collect();
    // The first owner buys the payers' credits (from the faucet's tokens on devnets).
    let buyer = Buyer {
        key: owner_keys(&config)
            .into_iter()
            .next()
            .ok_or_else(|| FleetError::Config("the fleet has no owner".into()))?,
        faucet: matches!(config.owner, OwnerFunding::Faucet { .. }),
        fee: config.fee,
    };
    let mut payers = PayerWallets::open(
        &client,
        payer_keys,
        config.credits_params.clone(),
        config.payer_topup_credits,
        buyer,
    )?;
    payers.fund_all(&client, &chain_id, status.token_decimals)?;
    let mut reporter = Reporter {
        config: &config,
        client: client.clone(),
        chain_id: chain_id.clone(),
        decimals: status.token_decimals,
        devices,
        payers,
        life: SimRng::new(config.seed, stream::LIFE),
        radio: SimRng::new(config.seed, stream::RADIO),
        beacons: 0,
        witnesses: 0,
        queue_full_retries: 0,
    };
    let started = Instant::now();
    reporter.schedule(now_ms());
    let start_height = client.status()?.height;
    let mut last_seen = start_height.saturating_sub(1);
    let mut last_height = start_height;
    let mut failures = 0;
    let mut last_log = Instant::now();
    let window = config.reports_params.beacon_window_blocks;
    let interval = config.reports_params.beacon_interval_blocks;
    while !stop.load(Ordering::Relaxed) && config.duration.is_none_or(|d| started.elapsed() < d) {
        let tick = Instant::now();
        let height = match client.status() {
            Ok(status) => {
                failures = 0;
                status.height
            }
            Err(e) => {
                failures += 1;
                if failures >= MAX_CONSECUTIVE_FAILURES || stop.load(Ordering::Relaxed) {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    return Err(e);
                }
                tracing::warn!(error = %e, "the node did not answer; trying again");
                sleep_unless_stopped(Duration::from_millis(250), &stop);
                continue;
            }
        };
        if height == last_height && last_seen >= height {
            // Nothing new: wait for the next block, so that what one tick sends lands in one block.
            sleep_unless_stopped(config.cadences.tick, &stop);
            continue;
        }
        last_height = height;
        let now = now_ms();
        let mut out = Vec::new();
        // Beacons: every new block's hash may select hotspots. Blocks near the end of the window
        // are skipped: a beacon sent that late would land outside it.
        let oldest_useful = height.saturating_sub(window.saturating_sub(2));
        let mut sent_beacons = Vec::new();
        for h in (last_seen + 1).max(oldest_useful).max(1)..=height {
            let Some(hash) = client.block_hash(h)? else {
                continue;
            };
            for i in 0..reporter.devices.len() {
                if reporter.devices[i].is_radio()
                    && selected_to_beacon(&hash, &reporter.devices[i].id, interval)
                {
                    sent_beacons.push(reporter.beacon(&mut out, i, h, now));
                }
            }
        }
        last_seen = last_seen.max(height);
        // Counters follow the order the app judges a block's reports in: beacons, then the
        // rest, then witnesses.
        reporter.periodic(&mut out, now);
        for beacon in &sent_beacons {
            reporter.witness(&mut out, beacon);
        }
        if !out.is_empty() && !reporter.submit(out, &stop)? {
            break;
        }
        if last_log.elapsed() > Duration::from_secs(10) {
            last_log = Instant::now();
            let (sent, refused) = reporter
                .devices
                .iter()
                .fold((0, 0), |(s, r), d| (s + d.sent, r + d.refused));
            tracing::info!(
                height,
                sent,
                refused,
                beacons = reporter.beacons,
                witnesses = reporter.witnesses,
                "fleet reporting"
            );
        }
        if let Some(rest) = config.cadences.tick.checked_sub(tick.elapsed()) {
            sleep_unless_stopped(rest, &stop);
        }
    }
    Ok(finish(
        &config,
        reporter,
        &chain_id,
        onboarded,
        (start_height, last_height),
        started.elapsed(),
    ))
}

fn finish(
    config: &FleetConfig,
    reporter: Reporter<'_>,
    chain_id: &str,
    onboarded: u64,
    heights: (u64, u64),
    elapsed: Duration,
) -> FleetReport {
    let mut classes: BTreeMap<String, ClassCounts> = BTreeMap::new();
    let mut summaries = Vec::with_capacity(reporter.devices.len());
    for d in &reporter.devices {
        let class = classes.entry(d.class().to_string()).or_default();
        class.devices += 1;
        class.sent += d.sent;
        class.accepted += d.accepted;
        class.refused += d.refused;
        summaries.push(DeviceSummary {
            index: d.index,
            id: d.id.to_string(),
            kind: d.kind.name().to_string(),
            role: d.role,
            class: d.class().to_string(),
            true_cell: format!("{:x}", d.true_cell),
            asserted_cell: format!("{:x}", d.asserted_cell),
            sent: d.sent,
            accepted: d.accepted,
            refused: d.refused,
            refusal_reasons: d.refusal_reasons.clone(),
            witnessed_cheater_counters: d.witnessed_cheater_counters.clone(),
        });
    }
    FleetReport {
        chain_id: chain_id.to_string(),
        city: config.city.name.clone(),
        seed: config.seed,
        onboarded,
        heights,
        elapsed_ms: elapsed.as_millis() as u64,
        beacons: reporter.beacons,
        witnesses: reporter.witnesses,
        queue_full_retries: reporter.queue_full_retries,
        classes,
        devices: summaries,
    }
}

/// The block hash a beacon's selection is computed from, as the fleet reads it (for tests and
/// tools: the same function the app judges beacons with).
pub fn is_selected(block_hash: &Hash, device: &DeviceId, interval_blocks: u64) -> bool {
    selected_to_beacon(block_hash, device, interval_blocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CheaterCounts;

    fn config(devices: usize) -> FleetConfig {
        let maker = signing::fleet_key(KeyRole::Owner, 77, 77);
        let mut config = FleetConfig::new(
            "http://127.0.0.1:1",
            devices,
            maker,
            OwnerFunding::Faucet {
                devices_per_owner: 10,
            },
        );
        config.cheaters = CheaterCounts::ONE_OF_EACH;
        config
    }

    #[test]
    fn a_fleet_has_the_mix_and_cheaters_asked_for_and_the_same_seed_builds_the_same_fleet() {
        let config = config(30);
        let devices = build_devices(&config).unwrap();
        assert_eq!(devices.len(), 30);
        let count = |role| devices.iter().filter(|d| d.role == role).count();
        assert_eq!(count(DeviceRole::LocationLiar), 1);
        assert_eq!(count(DeviceRole::WitnessRing), 3);
        assert_eq!(count(DeviceRole::Replayer), 1);
        let honest_hotspots = devices
            .iter()
            .filter(|d| d.role == DeviceRole::Honest && d.kind == DeviceKind::Hotspot)
            .count();
        assert_eq!(honest_hotspots, 15); // 60 % of 25
        let again = build_devices(&config).unwrap();
        for (a, b) in devices.iter().zip(&again) {
            assert_eq!(
                (a.id, a.true_cell, a.asserted_cell),
                (b.id, b.true_cell, b.asserted_cell)
            );
        }
        // Owners hold ten devices each.
        assert_eq!(owner_keys(&config).len(), 3);
        assert_eq!(devices[25].owner, 2);
    }

    #[test]
    fn the_liar_claims_a_far_cell_and_the_ring_stands_far_apart() {
        let config = config(30);
        let devices = build_devices(&config).unwrap();
        let liar = devices
            .iter()
            .find(|d| d.role == DeviceRole::LocationLiar)
            .unwrap();
        let offset = placement::cell_distance_m(liar.true_cell, liar.asserted_cell);
        assert!((25_000.0..=50_100.0).contains(&offset), "{offset}");
        let ring: Vec<_> = devices
            .iter()
            .filter(|d| d.role == DeviceRole::WitnessRing)
            .collect();
        for a in &ring {
            for b in &ring {
                if a.index != b.index {
                    assert!(placement::cell_distance_m(a.true_cell, b.true_cell) > 30_000.0);
                }
            }
        }
        // Honest hotspots keep their separation.
        let hotspots: Vec<_> = devices
            .iter()
            .filter(|d| d.role == DeviceRole::Honest && d.kind == DeviceKind::Hotspot)
            .collect();
        for a in &hotspots {
            for b in &hotspots {
                if a.index != b.index {
                    assert!(
                        placement::cell_distance_m(a.true_cell, b.true_cell)
                            >= config.min_hotspot_separation_m
                    );
                }
            }
        }
    }

    #[test]
    fn beacon_selection_agrees_with_the_apps_and_selects_about_one_in_interval() {
        let config = config(30);
        let devices = build_devices(&config).unwrap();
        let mut selected = 0;
        let blocks = 3_000_u64;
        for height in 0..blocks {
            let hash = sha256(&height.to_be_bytes());
            for d in &devices {
                let ours = is_selected(&hash, &d.id, 30);
                assert_eq!(
                    ours,
                    groundwork_app::modules::reports::selected_to_beacon(&hash, &d.id, 30)
                );
                // Written out from the protocol: the first 8 bytes of SHA-256(hash ‖ id) below u64::MAX / 30.
                let digest = sha256(&[hash.as_bytes().as_slice(), d.id.as_bytes()].concat());
                let head = u64::from_be_bytes(digest.0[..8].try_into().unwrap());
                assert_eq!(ours, head < u64::MAX / 30);
                selected += u64::from(ours);
            }
        }
        let expected = blocks * devices.len() as u64 / 30;
        assert!(
            selected.abs_diff(expected) < expected / 10,
            "{selected} vs {expected}"
        );
    }

    #[test]
    fn a_config_with_more_cheaters_than_devices_is_refused() {
        let mut config = config(3);
        config.cheaters = CheaterCounts::ONE_OF_EACH;
        assert!(matches!(build_devices(&config), Err(FleetError::Config(_))));
    }
}
