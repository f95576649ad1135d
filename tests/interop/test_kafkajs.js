// kafkajs 2.2.4 against kc-broker (run by test_kafkajs.py, which starts the
// broker and installs kafkajs with `npm ci`):
//   node test_kafkajs.js HOST:PORT
// admin: describeCluster, createTopics (3 partitions), listTopics,
// fetchTopicMetadata; an idempotent producer sends keyed messages with
// headers; a consumer group (eachMessage) reads them all: every message
// exactly once, in send order within its partition, each key in one
// partition; the group's committed offsets reach each partition's end, and a
// second member of the group afterwards gets nothing again. Then the other
// admin calls: deleteTopicRecords, createPartitions, alterConfigs,
// describeConfigs, deleteGroups, deleteTopics.
'use strict'
const { Kafka, logLevel } = require('kafkajs')

const bootstrap = process.argv[2]
const N = 3000
const TOPIC = 'kjs'
const GROUP = 'g-kjs'
const T0 = Date.now()

function fail (msg) {
  throw new Error(msg)
}

function check (cond, msg) {
  if (!cond) fail(msg)
}

function log (msg) {
  console.log(`[kafkajs ${((Date.now() - T0) / 1000).toFixed(2)}s] ${msg}`)
}

// Polls cond() until true or the deadline passes.
async function waitFor (cond, ms, what) {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) fail(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

async function main () {
  check(require('kafkajs/package.json').version === '2.2.4', 'kafkajs is not 2.2.4')
  const kafka = new Kafka({
    clientId: 'kc-interop',
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    retry: { retries: 5, initialRetryTime: 100 }
  })

  const admin = kafka.admin()
  await admin.connect()
  const cluster = await admin.describeCluster()
  log(`describeCluster: ${JSON.stringify(cluster)}`)
  check(cluster.brokers.length === 1 && `${cluster.brokers[0].host}:${cluster.brokers[0].port}` === bootstrap,
    `brokers: ${JSON.stringify(cluster.brokers)}`)
  const created = await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }], waitForLeaders: true })
  check(created === true, `createTopics returned ${created}`)
  const again = await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }] })
  check(again === false, `createTopics of an existing topic returned ${again}`)
  const topics = await admin.listTopics()
  check(topics.includes(TOPIC), `listTopics: ${topics}`)
  const md = await admin.fetchTopicMetadata({ topics: [TOPIC] })
  check(md.topics[0].partitions.length === 3, `metadata: ${JSON.stringify(md)}`)

  // Send in batches; remember each message's send index.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const sent = []
  const keyOf = new Map()
  for (let i = 0; i < N; i += 100) {
    const messages = []
    for (let j = i; j < i + 100 && j < N; j++) {
      const value = `kjs-${String(j).padStart(5, '0')}-${'y'.repeat(j % 150)}`
      const key = `key${j % 23}`
      sent.push(value)
      keyOf.set(value, key)
      messages.push({ key, value, headers: { n: String(j) } })
    }
    const res = await producer.send({ topic: TOPIC, acks: -1, messages })
    for (const r of res) check(r.errorCode === 0, `send: ${JSON.stringify(r)}`)
  }
  await producer.disconnect()
  log(`sent ${N} messages`)

  const ends = await admin.fetchTopicOffsets(TOPIC)
  let total = 0
  for (const p of ends) total += Number(p.high)
  check(total === N, `partition ends ${JSON.stringify(ends)} sum to ${total}, want ${N}`)

  const index = new Map(sent.map((v, i) => [v, i]))
  const got = []
  const consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: 10000, heartbeatInterval: 1000, maxWaitTimeInMs: 200 })
  await consumer.connect()
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      got.push({ partition, offset: Number(message.offset), key: message.key.toString(),
        value: message.value.toString(), n: message.headers.n.toString() })
    }
  })
  log('consumer running')
  await waitFor(() => got.length >= N, 60000, `${N} messages (have ${got.length})`)
  await consumer.disconnect() // commits what eachMessage resolved

  const seen = new Set()
  const last = new Map()
  const keyPart = new Map()
  for (const m of got) {
    check(index.has(m.value), `unknown message ${m.value}`)
    check(!seen.has(m.value), `${m.value} read twice`)
    seen.add(m.value)
    const i = index.get(m.value)
    check(m.key === keyOf.get(m.value) && m.n === String(i), `key/header of ${m.value}: ${m.key} ${m.n}`)
    const prev = last.get(m.partition)
    check(!prev || (m.offset > prev.offset && i > prev.i),
      `partition ${m.partition}: message ${i} at ${m.offset} after ${prev && prev.i} at ${prev && prev.offset}`)
    last.set(m.partition, { offset: m.offset, i })
    if (!keyPart.has(m.key)) keyPart.set(m.key, m.partition)
    check(keyPart.get(m.key) === m.partition, `key ${m.key} in two partitions`)
  }
  check(seen.size === N, `${seen.size} distinct messages, want ${N}`)
  log(`consumer group read ${N} messages exactly once, in order per partition`)

  log('fetching committed offsets')
  const committed = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] })
  const want = new Map(ends.map(p => [p.partition, p.high]))
  for (const p of committed[0].partitions) {
    check(p.offset === want.get(p.partition),
      `committed ${JSON.stringify(committed)}, partition ends ${JSON.stringify(ends)}`)
  }
  const groups = await admin.listGroups()
  check(groups.groups.some(g => g.groupId === GROUP), `listGroups: ${JSON.stringify(groups)}`)
  const desc = await admin.describeGroups([GROUP])
  check(desc.groups[0].state === 'Empty', `describeGroups: ${JSON.stringify(desc)}`)

  // A new member of the group starts at the committed offsets: nothing more.
  const again2 = []
  const c2 = kafka.consumer({ groupId: GROUP, sessionTimeout: 10000, heartbeatInterval: 1000, maxWaitTimeInMs: 200 })
  let joined = false
  c2.on(c2.events.GROUP_JOIN, () => { joined = true })
  await c2.connect()
  await c2.subscribe({ topic: TOPIC, fromBeginning: true })
  await c2.run({ eachMessage: async ({ message }) => { again2.push(message.value.toString()) } })
  log('second consumer starting')
  await waitFor(() => joined, 30000, 'the second consumer to join')
  // Give the fetch loop a round against each partition before judging.
  let fetched = 0
  c2.on(c2.events.FETCH, () => { fetched++ })
  await waitFor(() => fetched >= 2, 30000, 'two fetch rounds of the second consumer')
  log('second consumer fetched')
  await c2.disconnect()
  check(again2.length === 0, `second consumer got ${again2.length} messages again, e.g. ${again2[0]}`)
  // The rest of the admin API kafkajs has.
  await admin.deleteTopicRecords({ topic: TOPIC, partitions: [{ partition: 0, offset: '5' }] })
  const lows = await admin.fetchTopicOffsets(TOPIC)
  const p0 = lows.find(p => p.partition === 0)
  check(p0.low === '5', `after deleteTopicRecords: ${JSON.stringify(lows)}`)
  await admin.createPartitions({ topicPartitions: [{ topic: TOPIC, count: 5 }] })
  const md5 = await admin.fetchTopicMetadata({ topics: [TOPIC] })
  check(md5.topics[0].partitions.length === 5, `after createPartitions: ${JSON.stringify(md5)}`)
  const { ConfigResourceTypes } = require('kafkajs')
  await admin.alterConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configEntries: [{ name: 'retention.ms', value: '7200000' }] }]
  })
  const cfg = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPIC, configNames: ['retention.ms'] }]
  })
  const entry = cfg.resources[0].configEntries.find(e => e.configName === 'retention.ms')
  check(entry && entry.configValue === '7200000', `describeConfigs: ${JSON.stringify(cfg.resources[0])}`)
  await admin.deleteGroups([GROUP])
  await admin.deleteTopics({ topics: [TOPIC] })
  const left = await admin.listTopics()
  check(!left.includes(TOPIC), `listTopics after deleteTopics: ${left}`)
  log('admin: deleteTopicRecords, createPartitions, alterConfigs, describeConfigs, deleteGroups, deleteTopics')
  await admin.disconnect()
  log('PASS')
}

const timer = setTimeout(() => { console.error('[kafkajs] FAIL: timed out after 150 s'); process.exit(1) }, 150000)
main().then(() => { clearTimeout(timer); process.exit(0) }, err => {
  console.error(`[kafkajs] FAIL: ${err && err.stack ? err.stack : err}`)
  process.exit(1)
})
