#!/bin/sh
# Writes facts.reference.txt: what tshark (4.0.17) and OpenSSL (3.0) see of the TLS
# certificate chains and alerts in the bundled Lync samples and some corpus captures, the
# reference of tests/tls_facts.rs. Run from this folder; needs tshark, openssl, sha256sum.
#
# Lines (tab-separated):
#   cert  CAPTURE FRAME SENDER INDEX SHA256 KEY CA SUBJECT_IS_ISSUER
#     one per certificate of a Certificate message, INDEX 0 = first sent; SENDER is
#     "ip:port"; KEY from `openssl x509 -text` ("RSA 2048", "EC P-256" …); CA "ca" or "-"
#     (basicConstraints CA:TRUE); SUBJECT_IS_ISSUER "same" or "-" (openssl's -subject and
#     -issuer print the same name)
#   alert CAPTURE FRAME SENDER LEVEL DESCRIPTION
#     one per alert tshark reads (in clear, or decrypted with the capture's key material);
#     encrypted alerts it cannot read are left out
set -eu
SAMPLES=../../../samples/lync
CORPUS=${LYNCSCOPE_CORPUS:-../../../../shared/corpus}
OUT=facts.reference.txt
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
: > "$OUT"

# name  file  tshark options (key material, as the corpus reference uses it)
one() {
    name=$1
    file=$2
    shift 2
    tshark -r "$file" "$@" -Y "tls.handshake.type == 11" -T fields \
        -e frame.number -e ip.src -e tcp.srcport -e tls.handshake.certificate 2>/dev/null |
    while IFS="$(printf '\t')" read -r frame ip port certs; do
        i=0
        for hex in $(echo "$certs" | tr ',' ' '); do
            echo "$hex" | xxd -r -p > "$TMP/c.der"
            sha=$(sha256sum "$TMP/c.der" | cut -d' ' -f1)
            text=$(openssl x509 -inform DER -in "$TMP/c.der" -noout -text)
            key=$(echo "$text" | awk '
                /Public Key Algorithm: rsaEncryption/ { alg = "RSA" }
                /Public Key Algorithm: id-ecPublicKey/ { alg = "EC" }
                /Public Key Algorithm: dsaEncryption/ { alg = "DSA" }
                /Public Key Algorithm: ED25519/ { alg = "Ed25519" }
                /Public-Key: \(/ { bits = $0; sub(/.*\(/, "", bits); sub(/ bit\).*/, "", bits) }
                /NIST CURVE:/ { curve = $NF }
                END {
                    if (alg == "EC") print "EC " curve;
                    else if (alg == "RSA" || alg == "DSA") print alg " " bits;
                    else print alg
                }')
            ca=-
            echo "$text" | grep -q "CA:TRUE" && ca=ca
            subject=$(openssl x509 -inform DER -in "$TMP/c.der" -noout -subject | sed 's/^subject=//')
            issuer=$(openssl x509 -inform DER -in "$TMP/c.der" -noout -issuer | sed 's/^issuer=//')
            same=-
            [ "$subject" = "$issuer" ] && same=same
            printf 'cert\t%s\t%s\t%s:%s\t%s\t%s\t%s\t%s\t%s\n' \
                "$name" "$frame" "$ip" "$port" "$i" "$sha" "$key" "$ca" "$same" >> "$OUT"
            i=$((i + 1))
        done
    done
    tshark -r "$file" "$@" -Y "tls.alert_message.desc" -T fields -E occurrence=a \
        -e frame.number -e ip.src -e tcp.srcport -e tls.alert_message.level \
        -e tls.alert_message.desc 2>/dev/null |
    while IFS="$(printf '\t')" read -r frame ip port levels descs; do
        # Several alerts in one frame come comma-separated, in order.
        n=1
        for d in $(echo "$descs" | tr ',' ' '); do
            l=$(echo "$levels" | cut -d, -f$n)
            printf 'alert\t%s\t%s\t%s:%s\t%s\t%s\n' "$name" "$frame" "$ip" "$port" "$l" "$d" >> "$OUT"
            n=$((n + 1))
        done
    done
}

# The samples carry their key log (pcapng Decryption Secrets Block).
one samples/C-cert-mismatch.pcapng "$SAMPLES/C-cert-mismatch.pcapng"
one samples/B-external-home-pool-redirect.pcapng "$SAMPLES/B-external-home-pool-redirect.pcapng"
# Real public chains: httpbin.org (TLS 1.2), several internet hosts (no keys), youtube.com
# (TLS 1.3: the chain is encrypted; the capture's DSB decrypts it).
one corpus/scapy/tls_tcp_frag_withnss.pcap "$CORPUS/scapy/tls_tcp_frag_withnss.pcap" \
    -o "tls.keylog_file:$CORPUS/scapy/tls_tcp_frag_withnss.keys.txt"
one corpus/ja4/latest.pcapng "$CORPUS/ja4/latest.pcapng"
one corpus/ja4/http2-with-cookies.pcapng "$CORPUS/ja4/http2-with-cookies.pcapng"
# TLS 1.2 and 1.3 with keys: decrypted close_notify alerts.
one corpus/scapy/tls_nss_example.pcap "$CORPUS/scapy/tls_nss_example.pcap" \
    -o "tls.keylog_file:$CORPUS/scapy/tls_nss_example.keys.txt"
# Many suites and versions, client certificates, alerts in clear and encrypted.
one corpus/wireshark-notes/all/dump.pcapng "$CORPUS/wireshark-notes/all/dump.pcapng" \
    -o "tls.keylog_file:$CORPUS/wireshark-notes/all/premaster.txt"
