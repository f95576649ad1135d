// kafkajs 2.2.4 as the peer of kc's own clients (run by test_kc_kafkajs.py):
//   node test_kc_kafkajs.js HOST:PORT produce TOPIC CODEC < records.json
//     sends the records ([{key, value, headers: [[name, value], ...]}, ...],
//     in this order, one at a time in send order) with acks=all; CODEC none or gzip
//     (the codecs kafkajs has built in)
//   node test_kc_kafkajs.js HOST:PORT consume TOPIC COUNT GROUP
//     reads COUNT records with a consumer group from the beginning and prints
//     one JSON line per record: [partition, offset, key, value, headers]
//     (headers as [[name, value-or-null], ...] in wire order), then waits a
//     little longer so a record too many would show up too.
'use strict'
const { Kafka, logLevel, CompressionTypes } = require('kafkajs')

const [bootstrap, mode, topic, arg, group] = process.argv.slice(2)

function fail (msg) {
  throw new Error(msg)
}

function readStdin () {
  return new Promise((resolve, reject) => {
    const chunks = []
    process.stdin.on('data', c => chunks.push(c))
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString()))
    process.stdin.on('error', reject)
  })
}

// kafkajs hands headers out as an object (a repeated name becomes an array);
// the tests use distinct names, so the object's key order is the wire order.
function headerList (headers) {
  const out = []
  for (const [name, v] of Object.entries(headers || {})) {
    const vals = Array.isArray(v) ? v : [v]
    for (const x of vals) out.push([name, x === null || x === undefined ? null : x.toString()])
  }
  return out
}

async function produce (kafka) {
  const records = JSON.parse(await readStdin())
  const producer = kafka.producer({ allowAutoTopicCreation: true, maxInFlightRequests: 1 })
  await producer.connect()
  const compression = arg === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None
  // Batches of 50 in send order: kafkajs keeps a send's messages in order
  // per partition, and one send finishes before the next starts.
  for (let i = 0; i < records.length; i += 50) {
    const messages = records.slice(i, i + 50).map(r => {
      const headers = {}
      for (const [n, v] of r.headers) headers[n] = v
      return { key: r.key, value: r.value, headers }
    })
    await producer.send({ topic, acks: -1, compression, messages })
  }
  await producer.disconnect()
}

async function consume (kafka) {
  const count = Number(arg)
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10000, heartbeatInterval: 1000 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  let got = 0
  const lines = []
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      got++
      lines.push(JSON.stringify([partition, Number(message.offset),
        message.key === null ? null : message.key.toString(),
        message.value === null ? null : message.value.toString(),
        headerList(message.headers)]))
    }
  })
  const deadline = Date.now() + 30000
  while (got < count) {
    if (Date.now() > deadline) fail(`timed out with ${got} of ${count} records`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  await new Promise(resolve => setTimeout(resolve, 300))
  await consumer.disconnect()
  process.stdout.write(lines.map(l => l + '\n').join(''))
}

async function main () {
  if (require('kafkajs/package.json').version !== '2.2.4') fail('kafkajs is not 2.2.4')
  const kafka = new Kafka({
    clientId: 'kc-interop-kafkajs',
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    retry: { retries: 5, initialRetryTime: 100 }
  })
  if (mode === 'produce') await produce(kafka)
  else if (mode === 'consume') await consume(kafka)
  else fail(`unknown mode ${mode}`)
}

main().catch(e => {
  console.error(`FAIL: ${e.stack || e}`)
  process.exit(1)
})
