#!/bin/sh
# mkcerts.sh DIR [-f] - make test PKI for the Defender emulator with the openssl CLI:
#   ca.crt/ca.key          test CA (trust it in the client: http.ca_file)
#   server.crt/server.key  server cert for 127.0.0.1, ::1 and localhost, signed by the CA
#   client.crt/client.key  app certificate for the client-assertion flow (register it
#                          with the emulator, sign assertions with the key)
#   rogue.crt/rogue.key    a second app certificate that is NOT registered (negative tests)
#   client.x5t, client.x5t256  base64url SHA-1 / SHA-256 thumbprints of client.crt (DER)
# Existing files are kept unless -f is given. Does not touch anything outside DIR.
set -eu

dir=${1:-}
force=${2:-}
if [ -z "$dir" ]; then
    echo "usage: $0 DIR [-f]" >&2
    exit 2
fi
mkdir -p "$dir"
cd "$dir"

if [ -f ca.crt ] && [ -f server.crt ] && [ -f client.crt ] && [ -f rogue.crt ] \
   && [ -f client.x5t256 ] && [ "$force" != "-f" ]; then
    exit 0
fi

umask 077
days=3650

openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" \
    -keyout ca.key -out ca.crt -subj "/CN=siemfwd test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

cat > server.ext <<'EOT'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost
EOT
openssl req -newkey rsa:2048 -nodes -sha256 -keyout server.key -out server.csr \
    -subj "/CN=localhost" 2>/dev/null
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -days "$days" -sha256 -extfile server.ext -out server.crt 2>/dev/null

# App certificates: self-signed, as usually uploaded to an Entra app registration.
for name in client rogue; do
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" \
        -keyout "$name.key" -out "$name.crt" -subj "/CN=siemfwd $name app" 2>/dev/null
done

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
openssl x509 -in client.crt -outform DER | openssl dgst -sha1 -binary | b64url > client.x5t
openssl x509 -in client.crt -outform DER | openssl dgst -sha256 -binary | b64url > client.x5t256

rm -f server.csr server.ext ca.srl
chmod 644 ca.crt server.crt client.crt rogue.crt client.x5t client.x5t256
chmod 600 ca.key server.key client.key rogue.key
