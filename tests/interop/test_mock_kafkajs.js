// kafkajs 2.2.4: a consumer group member against kc-mock while the group's
// coordinator moves (run by test_mock_kafkajs.py, which owns kc-mock's
// control channel):
//   node test_mock_kafkajs.js BOOTSTRAP TOPIC GROUP ROUNDS
// Round by round: produce a batch, wait until the consumer has it all, print
// "ROUND r DONE", then wait for "GO" on stdin (the Python side moves the
// coordinator meanwhile). At the end: every message consumed (re-deliveries
// after a rebalance are counted, not failed), in send order per partition,
// and the group's committed offsets at each partition's end.
'use strict'
const readline = require('readline')
const { Kafka, logLevel } = require('kafkajs')

const [bootstrap, TOPIC, GROUP, ROUNDS] = process.argv.slice(2)
const PER_ROUND = 300
const T0 = Date.now()

function check (cond, msg) {
  if (!cond) throw new Error(msg)
}

function log (msg) {
  console.log(`[kafkajs ${((Date.now() - T0) / 1000).toFixed(2)}s] ${msg}`)
}

async function waitFor (cond, ms, what) {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

const lines = []
readline.createInterface({ input: process.stdin }).on('line', l => lines.push(l.trim()))

async function main () {
  check(require('kafkajs/package.json').version === '2.2.4', 'kafkajs is not 2.2.4')
  const kafka = new Kafka({
    clientId: 'kc-mock-kafkajs',
    brokers: bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 }
  })
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const consumer = kafka.consumer({
    groupId: GROUP,
    sessionTimeout: 10000,
    heartbeatInterval: 200,
    retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 }
  })
  const seen = new Map() // value -> times
  const order = new Map() // partition -> [seq...]
  let rebalances = 0
  consumer.on(consumer.events.GROUP_JOIN, () => { rebalances++ })
  await consumer.connect()
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
  await consumer.run({
    autoCommitThreshold: 1,
    eachMessage: async ({ partition, message }) => {
      const v = message.value.toString()
      seen.set(v, (seen.get(v) || 0) + 1)
      if (!order.has(partition)) order.set(partition, [])
      order.get(partition).push(Number(v.split('-')[2]))
    }
  })
  let sent = 0
  for (let r = 1; r <= Number(ROUNDS); r++) {
    const messages = []
    for (let i = 0; i < PER_ROUND; i++, sent++) {
      messages.push({ key: `k${sent % 13}`, value: `m-${r}-${String(sent).padStart(6, '0')}` })
    }
    await producer.send({ topic: TOPIC, acks: -1, messages })
    await waitFor(() => seen.size === sent, 60000, `round ${r}: ${sent} messages consumed (have ${seen.size})`)
    console.log(`ROUND ${r} DONE`)
    if (r < Number(ROUNDS)) {
      await waitFor(() => lines.includes(`GO ${r}`), 60000, `GO ${r} from the test`)
    }
  }
  // Per partition, first deliveries in send order (a re-delivery replays a
  // suffix, so drop repeats before checking the order).
  for (const [p, seqs] of order) {
    const firsts = []
    const have = new Set()
    for (const s of seqs) if (!have.has(s)) { have.add(s); firsts.push(s) }
    for (let i = 1; i < firsts.length; i++) {
      check(firsts[i - 1] < firsts[i], `partition ${p}: ${firsts[i]} after ${firsts[i - 1]}`)
    }
  }
  const dups = [...seen.values()].filter(n => n > 1).length
  // Committed offsets reach the end of every partition.
  const admin = kafka.admin()
  await admin.connect()
  const ends = await admin.fetchTopicOffsets(TOPIC)
  await waitFor(() => true, 0, '')
  let committed
  const deadline = Date.now() + 30000
  for (;;) {
    const [res] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] })
    committed = res.partitions
    const behind = committed.filter(c => c.offset !== ends.find(e => e.partition === c.partition).high)
    if (behind.length === 0) break
    check(Date.now() < deadline, `committed offsets ${JSON.stringify(committed)} short of ${JSON.stringify(ends)}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  await admin.disconnect()
  await consumer.disconnect()
  await producer.disconnect()
  log(`${sent} messages consumed (${dups} re-delivered after rebalances), ${rebalances} group joins; committed offsets at the ends`)
  console.log('ALL DONE')
}

main().then(() => process.exit(0), e => {
  console.error(`FAIL: ${e.stack || e}`)
  process.exit(1)
})
