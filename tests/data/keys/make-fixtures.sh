#!/bin/sh
# Regenerates the TEST-ONLY key fixtures in this folder (OpenSSL 3.x). Run from this folder.
# The keys are random on each run: regenerate everything together, never one file alone.
set -eu
CORPUS=../../../../shared/corpus
PEM=$CORPUS/scapy-ssl_tls/openssl_1_0_1_f_server.pem
NAMEOPT=sep_comma_plus_space,utf8,esc_ctrl,esc_2253

# The main 2048-bit RSA key in every container format.
openssl genrsa -traditional -out rsa2048.pkcs1.pem 2048
openssl pkcs8 -topk8 -nocrypt -in rsa2048.pkcs1.pem -out rsa2048.pkcs8.pem
openssl pkcs8 -topk8 -nocrypt -in rsa2048.pkcs1.pem -outform DER -out rsa2048.pkcs8.der
openssl rsa -in rsa2048.pkcs1.pem -traditional -outform DER -out rsa2048.pkcs1.der
# Password-protected PEM forms (password "test").
openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:test -in rsa2048.pkcs1.pem -out rsa2048.pkcs8-encrypted.pem
openssl pkcs8 -topk8 -scrypt -passout pass:test -in rsa2048.pkcs1.pem -out rsa2048.pkcs8-scrypt.pem
openssl rsa -in rsa2048.pkcs1.pem -traditional -aes256 -passout pass:test -out rsa2048.pkcs1-encrypted.pem
openssl rsa -in rsa2048.pkcs1.pem -noout -modulus > rsa2048.modulus.txt

# A self-signed certificate for it, PEM and DER, and a PEM bundle holding certificate + key.
openssl req -x509 -new -key rsa2048.pkcs1.pem -sha256 -days 3650 -set_serial 0x0A1B2C3D4E5F \
  -subj "/C=DE/O=lyncscope test/CN=test.lyncscope.invalid" \
  -addext "subjectAltName=DNS:test.lyncscope.invalid,DNS:*.lyncscope.invalid,IP:192.0.2.10,IP:2001:db8::10" \
  -out cert.pem
openssl x509 -in cert.pem -outform DER -out cert.der
cat cert.pem rsa2048.pkcs1.pem > cert-and-key.pem
openssl x509 -in cert.pem -noout -subject -issuer -dates -serial -ext subjectAltName \
  -nameopt $NAMEOPT -dateopt iso_8601 > cert.openssl.txt

# PKCS#12: OpenSSL 3 defaults (PBES2 AES-256-CBC + PBKDF2, SHA-256 MAC), legacy 3DES, and an
# empty password.
openssl pkcs12 -export -inkey rsa2048.pkcs1.pem -in cert.pem -passout pass:test -out rsa2048-aes.pfx
openssl pkcs12 -export -inkey rsa2048.pkcs1.pem -in cert.pem -passout pass:test \
  -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 -out rsa2048-3des.p12
openssl pkcs12 -export -inkey rsa2048.pkcs1.pem -in cert.pem -passout pass: -out rsa2048-nopass.pfx

# An unrelated second RSA key, and an EC (P-256) key in SEC1 and PKCS#8 form.
openssl genrsa -out unrelated-rsa2048.pem 2048
openssl rsa -in unrelated-rsa2048.pem -noout -modulus > unrelated-rsa2048.modulus.txt
openssl ecparam -name prime256v1 -genkey -noout -out ec-p256.pem
openssl pkcs8 -topk8 -nocrypt -in ec-p256.pem -out ec-p256.pkcs8.pem

# A 48-byte TLS premaster (version 03 03 + 46 random bytes) encrypted with PKCS#1 v1.5 to the
# certificate, as a client's ClientKeyExchange would carry it.
printf '\003\003' > premaster.bin
openssl rand 46 >> premaster.bin
openssl pkeyutl -encrypt -certin -inkey cert.pem -pkeyopt rsa_padding_mode:pkcs1 \
  -in premaster.bin -out premaster.enc

# Facts about the corpus key and certificate, printed by openssl.
openssl rsa -in $PEM -noout -modulus > corpus-openssl_1_0_1_f_server.modulus.txt
openssl x509 -in $PEM -noout -subject -issuer -dates -serial \
  -nameopt $NAMEOPT -dateopt iso_8601 > corpus-openssl_1_0_1_f_server.openssl.txt

# The ClientKeyExchange of the corpus static-RSA capture, and the premaster tshark decrypts from
# it with the corpus key (Wireshark 4.0.17; the premaster is read from tshark's TLS debug log).
PCAP=$CORPUS/scapy-ssl_tls/RSA_WITH_AES_128_CBC_SHA_w_key.pcap
{
  echo "# tshark -r scapy-ssl_tls/RSA_WITH_AES_128_CBC_SHA_w_key.pcap -Y tls.handshake.type==16 -T fields -e frame.number -e tls.handshake.epms"
  tshark -r $PCAP -Y tls.handshake.type==16 -T fields -e frame.number -e tls.handshake.epms | sed 's/^/frame+epms: /'
  echo "# 'pre master secret[48]' from the tshark TLS debug log (-o tls.keys_list:0.0.0.0,443,http,<corpus pem> -o tls.debug_file:...)"
  tshark -r $PCAP -o "tls.keys_list:0.0.0.0,443,http,$PEM" -o tls.debug_file:/tmp/tlsdbg.txt -Y http >/dev/null
  printf 'premaster: '
  grep -m1 -A3 '^pre master secret\[48\]' /tmp/tlsdbg.txt | tail -3 | cut -c3-49 | tr -d ' \n'
  echo
} > corpus-rsa-cke.tshark.txt
