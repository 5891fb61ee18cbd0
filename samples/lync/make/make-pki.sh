#!/usr/bin/env bash
# Builds the throw-away PKIs of the sample topology with openssl (real X.509):
#   2015  scenarios A-E, the validity dates of lync-sample-exchanges.md
#   2019  scenarios F-K (issue 15): a renewed Contoso PKI (Contoso Root CA G2), a second public
#         hierarchy for the reverse proxy, SfB Online and Azure AD
# usage: make-pki.sh [2015] [2019]   (no argument: both)
# Idempotent per set: a set whose private keys are all present is kept, so that re-running the
# captures does not change its certificates. The private keys are not committed
# (pki/.gitignore), so a fresh checkout builds a new set when a scenario of it is regenerated;
# the certificates themselves travel inside the captures. Test-only keys; never use them for
# anything else.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p pki
cd pki
SETS=${*:-2015 2019}
have_all() { local k; for k in "$@"; do [ -f "$k.key" ] || return 1; done; }
build2015=0; build2019=0
for s in $SETS; do
  case $s in
    2015) have_all contoso-root contoso-issuing example-root example-g2 webtest-root webtest-ca cert-int-p1 cert-ext \
            cert-ext-bad cert-www cert-mail cert-weather cert-login cert-cdn alice-device || build2015=1 ;;
    2019) have_all contoso-root-g2 contoso-issuing-02 example-root-r2 example-g3 example-cloud5 cert-int-p1-2019 \
            cert-ext-2019 cert-online-2019 cert-aad-2019 || build2019=1 ;;
    *) echo "make-pki.sh: unknown set $s" >&2; exit 1 ;;
  esac
done
[ $build2015 = 0 ] && [ $build2019 = 0 ] && exit 0

cnf() { # $1 = CA dir; minimal `openssl ca` config, all policy checks off
cat > "$1/ca.cnf" <<CNF
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = $1
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
default_md = sha256
policy = policy_any
unique_subject = no
preserve = yes
copy_extensions = copy
email_in_dn = no
[ policy_any ]
domainComponent = optional
countryName = optional
stateOrProvinceName = optional
localityName = optional
organizationName = optional
commonName = supplied
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_user ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
}

newca() { # $1 dir, $2 serial hex
  mkdir -p "$1/newcerts"; : > "$1/index.txt"; echo "$2" > "$1/serial"; cnf "$(pwd)/$1"
}

# $1 = issuer dir, $2 = out name, $3 = subject, $4 = start, $5 = end, $6 = ext section, $7 = SAN (or "")
sign() {
  local issuer=$1 name=$2 subj=$3 start=$4 end=$5 ext=$6 san=${7:-}
  openssl genrsa -out "$name.key" 2048 2>/dev/null
  if [ -n "$san" ]; then
    openssl req -new -key "$name.key" -subj "$subj" -addext "subjectAltName=$san" -out "$name.csr"
  else
    openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr"
  fi
  if [ "$issuer" = self ]; then
    newca "$name" "$8"
    openssl ca -batch -notext -selfsign -config "$name/ca.cnf" -keyfile "$name.key" -extensions v3_ca \
      -startdate "$start" -enddate "$end" -in "$name.csr" -out "$name.crt" 2>/dev/null
  else
    openssl ca -batch -notext -config "$issuer/ca.cnf" -cert "$issuer.crt" -keyfile "$issuer.key" \
      -extensions "$ext" -startdate "$start" -enddate "$end" -in "$name.csr" -out "$name.crt" 2>/dev/null
  fi
}

if [ $build2015 = 1 ]; then
# Roots (on the device) and issuing CAs (sent in the chain).
sign self contoso-root   "/DC=net/DC=contoso/CN=Contoso Root CA"          20120101000000Z 20320101000000Z v3_ca "" 1000
sign contoso-root contoso-issuing "/DC=net/DC=contoso/CN=Contoso Issuing CA 01" 20120301000000Z 20220301000000Z v3_ca
newca contoso-issuing 3A0000
sign self example-root   "/C=US/O=Example Trust Services/CN=Example Public Root CA" 20060101000000Z 20310101000000Z v3_ca "" 2000
sign example-root example-g2 "/C=US/O=Example Trust Services/CN=Example Public CA G2" 20100601000000Z 20250601000000Z v3_ca
newca example-g2 0F1E2D3C4B5A
sign self webtest-root   "/C=US/O=Example Web PKI/CN=Example Web Root CA"   20080101000000Z 20330101000000Z v3_ca "" 3000
sign webtest-root webtest-ca "/C=US/O=Example Web PKI/CN=Example Web Issuing CA 3" 20130101000000Z 20230101000000Z v3_ca
newca webtest-ca 5A01

# Leaves of lync-sample-exchanges.md
sign contoso-issuing cert-int-p1 "/C=US/O=Contoso/CN=webint-pool1.contoso.net" 20141101000000Z 20161101000000Z v3_leaf \
  "DNS:webint-pool1.contoso.net,DNS:pool1.contoso.net,DNS:fe01.contoso.net,DNS:fe02.contoso.net,DNS:lyncdiscoverinternal.contoso.com,DNS:lyncdiscover.contoso.com"
sign example-g2 cert-ext "/C=US/O=Contoso/CN=webext-pool1.contoso.com" 20150115000000Z 20170115000000Z v3_leaf \
  "DNS:webext-pool1.contoso.com,DNS:webext-pool2.contoso.com,DNS:lyncdiscover.contoso.com,DNS:meet.contoso.com,DNS:dialin.contoso.com"
sign example-g2 cert-ext-bad "/C=US/O=Contoso/CN=webext-pool1.contoso.com" 20150115000000Z 20170115000000Z v3_leaf \
  "DNS:webext-pool1.contoso.com,DNS:webext-pool2.contoso.com,DNS:meet.contoso.com,DNS:dialin.contoso.com"
sign example-g2 cert-www "/C=US/O=Contoso/CN=www.contoso.com" 20150301000000Z 20160301000000Z v3_leaf "DNS:www.contoso.com"
sign example-g2 cert-mail "/C=US/O=Contoso/CN=mail.contoso.com" 20150201000000Z 20170201000000Z v3_leaf \
  "DNS:mail.contoso.com,DNS:autodiscover.contoso.com"
# Background (noise) hosts of scenario A
sign webtest-ca cert-weather "/CN=api.weather.example.com" 20150401000000Z 20160401000000Z v3_leaf "DNS:api.weather.example.com"
sign webtest-ca cert-login   "/CN=login.example.net"       20150301000000Z 20170301000000Z v3_leaf "DNS:login.example.net"
sign webtest-ca cert-cdn     "/CN=cdn.example.org"         20141201000000Z 20161201000000Z v3_leaf "DNS:cdn.example.org,DNS:*.cdn.example.org"
# The device certificate CertProv hands out (#A17/#B24); its CSR is the PKCS#10 the client sends.
sign contoso-issuing alice-device "/CN=alice@contoso.com" 20150629000000Z 20151226000000Z v3_user

# Chains as served: leaf + issuing CA.
for l in cert-int-p1:contoso-issuing cert-ext:example-g2 cert-ext-bad:example-g2 cert-www:example-g2 \
         cert-mail:example-g2 cert-weather:webtest-ca cert-login:webtest-ca cert-cdn:webtest-ca; do
  cat "${l%%:*}.crt" "${l##*:}.crt" > "${l%%:*}.chain.pem"
done
cat contoso-root.crt example-root.crt webtest-root.crt > device-trust.pem
rm -rf contoso-root contoso-issuing example-root example-g2 webtest-root webtest-ca
fi

if [ $build2019 = 1 ]; then
# 2019: Contoso renewed its enterprise PKI; the reverse proxy has a certificate from another
# public CA; Microsoft's SfB Online and Azure AD certificates (fictional issuers, real names).
sign self contoso-root-g2 "/DC=net/DC=contoso/CN=Contoso Root CA G2" 20170101000000Z 20370101000000Z v3_ca "" 1100
sign contoso-root-g2 contoso-issuing-02 "/DC=net/DC=contoso/CN=Contoso Issuing CA 02" 20170301000000Z 20270301000000Z v3_ca
newca contoso-issuing-02 4B0000
sign self example-root-r2 "/C=US/O=Example Trust Services/CN=Example Public Root CA R2" 20100101000000Z 20350101000000Z v3_ca "" 2100
sign example-root-r2 example-g3 "/C=US/O=Example Trust Services/CN=Example Public CA G3" 20160601000000Z 20260601000000Z v3_ca
newca example-g3 1F2E3D4C5B6A
sign example-root-r2 example-cloud5 "/C=US/O=Example Trust Services/CN=Example Cloud Public CA 5" 20170901000000Z 20270901000000Z v3_ca
newca example-cloud5 6C5D4E3F
sign contoso-issuing-02 cert-int-p1-2019 "/C=US/O=Contoso/CN=webint-pool1.contoso.net" 20181001000000Z 20201001000000Z v3_leaf \
  "DNS:webint-pool1.contoso.net,DNS:pool1.contoso.net,DNS:fe01.contoso.net,DNS:fe02.contoso.net,DNS:lyncdiscoverinternal.contoso.com,DNS:lyncdiscover.contoso.com"
sign example-g3 cert-ext-2019 "/C=US/O=Contoso/CN=webext-pool1.contoso.com" 20190115000000Z 20210115000000Z v3_leaf \
  "DNS:webext-pool1.contoso.com,DNS:webext-pool2.contoso.com,DNS:lyncdiscover.contoso.com,DNS:meet.contoso.com,DNS:dialin.contoso.com"
sign example-cloud5 cert-online-2019 "/C=US/ST=WA/L=Redmond/O=Microsoft Corporation/CN=*.online.lync.com" 20180920000000Z 20200920000000Z v3_leaf \
  "DNS:*.online.lync.com,DNS:online.lync.com,DNS:*.infra.lync.com"
sign example-cloud5 cert-aad-2019 "/C=US/ST=WA/L=Redmond/O=Microsoft Corporation/CN=stamp2.login.microsoftonline.com" 20190110000000Z 20210110000000Z v3_leaf \
  "DNS:stamp2.login.microsoftonline.com,DNS:login.microsoftonline.com,DNS:login.windows.net,DNS:login.microsoft.com,DNS:*.login.microsoftonline.com"
for l in cert-int-p1-2019:contoso-issuing-02 cert-ext-2019:example-g3 cert-online-2019:example-cloud5 cert-aad-2019:example-cloud5; do
  cat "${l%%:*}.crt" "${l##*:}.crt" > "${l%%:*}.chain.pem"
done
# The phone's trust store, and the same phone without the enterprise root (scenario H).
cat contoso-root-g2.crt example-root-r2.crt > device-trust-2019.pem
cp example-root-r2.crt device-trust-2019-public.pem
rm -rf contoso-root-g2 contoso-issuing-02 example-root-r2 example-g3 example-cloud5
fi
rm -f ./*.csr.tmp $(ls *.csr | grep -v alice-device.csr)
