// Asks a server's grpc.health.v1 Check with @grpc/grpc-js (a client nobody here wrote) and
// prints the status. Usage: node health.js HOST:PORT [SERVICE] ; exit 0 when it answered.
'use strict';
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const target = process.argv[2];
const service = process.argv[3] || '';
if (!target) {
  console.error('usage: node health.js HOST:PORT [SERVICE]');
  process.exit(2);
}
const def = protoLoader.loadSync(
  require.resolve('grpc-health-check/proto/health/v1/health.proto'), { enums: String });
const pkg = grpc.loadPackageDefinition(def);
const client = new pkg.grpc.health.v1.Health(target, grpc.credentials.createInsecure());
const deadline = new Date(Date.now() + 5000);
client.Check({ service }, { deadline }, (err, resp) => {
  if (err) {
    console.log('ERROR', err.code, err.details);
    process.exit(1);
  }
  console.log(resp.status);
  client.close();
  process.exit(0);
});
