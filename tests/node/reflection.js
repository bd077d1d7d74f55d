// Lists a server's services through gRPC server reflection (v1alpha, what gRPC C++ 1.51
// serves) with @grpc/grpc-js, and resolves each listed farside service to its proto file.
// Usage: node reflection.js HOST:PORT ; prints one service name a line, then "file NAME".
'use strict';
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const path = require('path');

const target = process.argv[2];
if (!target) {
  console.error('usage: node reflection.js HOST:PORT');
  process.exit(2);
}
const protoPath = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')),
  'build/proto/grpc/reflection/v1alpha/reflection.proto');
const def = protoLoader.loadSync(protoPath, { keepCase: true, longs: String, enums: String });
const pkg = grpc.loadPackageDefinition(def);
const client = new pkg.grpc.reflection.v1alpha.ServerReflection(
  target, grpc.credentials.createInsecure());
const timer = setTimeout(() => { console.log('ERROR timeout'); process.exit(1); }, 5000);
const call = client.ServerReflectionInfo();
let pending = 1;
call.on('data', (resp) => {
  if (resp.list_services_response) {
    for (const s of resp.list_services_response.service) {
      console.log(s.name);
      if (s.name.startsWith('farside.')) {
        pending++;
        call.write({ file_containing_symbol: s.name });
      }
    }
  } else if (resp.file_descriptor_response) {
    // The first descriptor is the file that defines the symbol; its name follows a tag byte.
    const fd = resp.file_descriptor_response.file_descriptor_proto[0];
    const len = fd[1];
    console.log('file ' + fd.slice(2, 2 + len).toString());
  } else if (resp.error_response) {
    console.log('ERROR ' + resp.error_response.error_message);
  }
  if (--pending === 0) {
    clearTimeout(timer);
    call.end();
    client.close();
    process.exit(0);
  }
});
call.on('error', (e) => { console.log('ERROR', e.code, e.details); process.exit(1); });
call.write({ list_services: '' });
