#!/usr/bin/env bash
# mailstack.sh: a throwaway real mail stack on 127.0.0.1 for tests and benchmarks: dovecot
# (IMAP, IMAPS, LMTP, sieve, OAuth2 passdb) behind postfix (SMTP with STARTTLS, SMTPS).
#
#   MS_ROOT=/tmp/ms deploy/mailstack.sh install|start|stop|make-ca DIR
#
# Everything lives under $MS_ROOT (configs, a test CA, Maildirs, logs); nothing under /etc
# is touched, so several stacks can run side by side on their own ports. Needs root
# (postfix's master must start as root); mail is stored as `mail`, never as uid 0, because
# dovecot refuses root-owned storage.
#
# Environment: MS_ROOT (default /tmp/mailstack), MS_SMTP_PORT 14025, MS_SMTPS_PORT 14465,
# MS_IMAP_PORT 14143, MS_IMAPS_PORT 14993, MS_LMTP_PORT 14024, MS_NUSERS 100 (users
# user1..userN@test.local with passwords pass1..passN), MS_OAUTH_INTROSPECT_URL (when set,
# dovecot accepts XOAUTH2/OAUTHBEARER and checks each bearer token by POSTing it there;
# the answer must be JSON {"active": true, "username": "userN@test.local"}).
#
# What lands where: mail to *@test.local is delivered; a message with `X-Spam-Flag: YES`
# is filed into Junk by a sieve rule, and userN+Junk@test.local (any case) lands in Junk too; mail to
# any other domain is refused at RCPT with 550 (nothing can leave the machine), and so is
# an unknown test.local user.
set -euo pipefail
ROOT=${MS_ROOT:-/tmp/mailstack}
SMTP_PORT=${MS_SMTP_PORT:-14025}; SMTPS_PORT=${MS_SMTPS_PORT:-14465}
IMAP_PORT=${MS_IMAP_PORT:-14143}; IMAPS_PORT=${MS_IMAPS_PORT:-14993}
LMTP_PORT=${MS_LMTP_PORT:-14024}
NUSERS=${MS_NUSERS:-100}
OAUTH_URL=${MS_OAUTH_INTROSPECT_URL:-}

die() { echo "mailstack: $*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port_up() {
  for _ in $(seq 1 250); do port_open "$1" && return 0; sleep 0.02; done
  echo "mailstack: port $1 did not open; see $ROOT/dc/dovecot.log and $ROOT/pf/maillog" >&2
  return 1
}
wait_port_down() { for _ in $(seq 1 250); do port_open "$1" || return 0; sleep 0.02; done; }

install_pkgs() {
  export DEBIAN_FRONTEND=noninteractive
  # keep package scripts from starting system daemons on the real ports
  [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
  # postfix asks which set-up to write: none, the stack writes its own
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends dovecot-imapd dovecot-lmtpd dovecot-sieve \
    postfix openssl curl >/dev/null
}

# A CA (key + self-signed cert) in $1: tests use a second one as "an unknown CA".
make_ca() {
  mkdir -p "$1"
  [ -s "$1/ca.pem" ] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=warmup test CA $RANDOM" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$1/ca.key" -out "$1/ca.pem" 2>/dev/null
}

# The server cert for localhost / 127.0.0.1, signed by the stack's CA (not self-signed, so
# a client that trusts the CA verifies the chain like it would a real provider's).
make_server_cert() {
  local t=$ROOT/tls
  make_ca "$t"
  [ -s "$t/cert.pem" ] && return 0
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$t/key.pem" \
    -out "$t/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$t/server.ext"
  openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
    -days 3650 -extfile "$t/server.ext" -out "$t/cert.pem" 2>/dev/null
  chmod 0644 "$t/cert.pem" "$t/ca.pem"
  chmod 0600 "$t/key.pem" "$t/ca.key"
}

write_configs() {
  mkdir -p "$ROOT"/{tls,dc/run,dc/state,mail,pf/spool}
  # postfix and the mail user must be able to enter it (mktemp -d makes 0700 dirs)
  chmod 0755 "$ROOT"
  chown mail:mail "$ROOT/mail"
  make_server_cert
  : > "$ROOT/dc/users"; : > "$ROOT/pf/vmailbox"
  for i in $(seq 1 "$NUSERS"); do
    echo "user$i@test.local:{PLAIN}pass$i" >> "$ROOT/dc/users"
    echo "user$i@test.local ok" >> "$ROOT/pf/vmailbox"
  done

  local mechs="plain login" oauth_passdb=""
  if [ -n "$OAUTH_URL" ]; then
    mechs="plain login xoauth2 oauthbearer"
    cat > "$ROOT/dc/oauth2.conf.ext" <<EOF
introspection_mode = post
introspection_url = $OAUTH_URL
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
tls_ca_cert_file = $ROOT/tls/ca.pem
timeout_msecs = 5000
EOF
    oauth_passdb="passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $ROOT/dc/oauth2.conf.ext
}"
  fi

  cat > "$ROOT/dc/dovecot.conf" <<EOF
base_dir = $ROOT/dc/run
state_dir = $ROOT/dc/state
instance_name = mailstack-$IMAP_PORT
protocols = imap lmtp
listen = 127.0.0.1
log_path = $ROOT/dc/dovecot.log
hostname = mail.test.local
ssl = yes
ssl_cert = <$ROOT/tls/cert.pem
ssl_key = <$ROOT/tls/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = $mechs
auth_failure_delay = 0
mail_uid = mail
mail_gid = mail
first_valid_uid = 8
mail_fsync = never
mail_location = maildir:$ROOT/mail/%d/%n/Maildir
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u $ROOT/dc/users
}
$oauth_passdb
userdb {
  driver = static
  # postfix already refuses unknown users; the passdbs are per mechanism, so a userdb
  # check through them would fail for LMTP
  args = home=$ROOT/mail/%d/%n allow_all_users=yes
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Archive {
    special_use = \\Archive
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
}
service imap-login {
  inet_listener imap {
    port = $IMAP_PORT
  }
  inet_listener imaps {
    port = $IMAPS_PORT
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    port = $LMTP_PORT
  }
}
service imap-urlauth-login {
  inet_listener imap-urlauth {
    port = 0
  }
}
# no growing delay after failed logins from 127.0.0.1 (the tests fail logins on purpose)
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth {
  unix_listener auth-postfix {
    mode = 0666
  }
}
recipient_delimiter = +
protocol lmtp {
  mail_plugins = \$mail_plugins sieve
  lmtp_save_to_detail_mailbox = yes
}
plugin {
  sieve_before = $ROOT/dc/spam.sieve
}
EOF
  # Junk by a spam header, or by the +junk detail of the envelope recipient in any case
  # (addresses are often lower-cased on the way: the detail mailbox alone is case-sensitive).
  printf 'require ["fileinto", "envelope", "subaddress"];\nif header :contains "X-Spam-Flag" "YES" { fileinto "Junk"; stop; }\nif envelope :detail :comparator "i;ascii-casemap" "to" "junk" { fileinto "Junk"; stop; }\n' > "$ROOT/dc/spam.sieve"
  sievec -c "$ROOT/dc/dovecot.conf" "$ROOT/dc/spam.sieve"

  cat > "$ROOT/pf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $ROOT/pf/spool
data_directory = $ROOT/pf/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file_prefixes = $ROOT, /dev/stdout
maillog_file = $ROOT/pf/maillog
myhostname = mx.test.local
mydomain = test.local
myorigin = \$mydomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
recipient_delimiter = +
virtual_mailbox_domains = test.local
virtual_mailbox_maps = texthash:$ROOT/pf/vmailbox
virtual_transport = lmtp:inet:127.0.0.1:$LMTP_PORT
default_transport = error:no outbound delivery in tests
smtp_dns_support_level = disabled
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $ROOT/dc/run/auth-postfix
# nothing relays, authenticated or not: another domain is refused at RCPT with 550
smtpd_relay_restrictions = reject_unauth_destination
relay_domains_reject_code = 550
smtpd_tls_cert_file = $ROOT/tls/cert.pem
smtpd_tls_key_file = $ROOT/tls/key.pem
smtpd_tls_security_level = may
in_flow_delay = 0
smtpd_client_connection_rate_limit = 0
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
queue_run_delay = 10s
minimal_backoff_time = 10s
EOF
  sed -e "s/^smtp      inet.*/127.0.0.1:$SMTP_PORT inet n - n - - smtpd/" /etc/postfix/master.cf > "$ROOT/pf/master.cf"
  printf '127.0.0.1:%s inet n - n - - smtpd\n  -o smtpd_tls_wrappermode=yes\n' "$SMTPS_PORT" >> "$ROOT/pf/master.cf"
  postconf -c "$ROOT/pf" -F '*/*/chroot = n'
}

start() {
  [ "$(id -u)" -eq 0 ] || die "start needs root (postfix's master starts as root)"
  for p in $SMTP_PORT $SMTPS_PORT $IMAP_PORT $IMAPS_PORT $LMTP_PORT; do
    port_open "$p" && die "port $p is already in use; choose other MS_*_PORT values"
  done
  write_configs
  dovecot -c "$ROOT/dc/dovecot.conf" || die "dovecot failed to start, see $ROOT/dc/dovecot.log"
  # a half-started stack is stopped again: nothing is left running after a failure
  postfix -c "$ROOT/pf" start >/dev/null 2>&1 || { stop; die "postfix failed to start, see $ROOT/pf/maillog"; }
  for p in $IMAP_PORT $IMAPS_PORT $LMTP_PORT $SMTP_PORT $SMTPS_PORT; do
    wait_port_up "$p" || { stop; exit 1; }
  done
  echo "mailstack up in $ROOT: smtp $SMTP_PORT smtps $SMTPS_PORT imap $IMAP_PORT imaps $IMAPS_PORT lmtp $LMTP_PORT"
}

stop() {
  [ -f "$ROOT/pf/main.cf" ] && postfix -c "$ROOT/pf" stop >/dev/null 2>&1 || true
  [ -f "$ROOT/dc/run/master.pid" ] && kill "$(cat "$ROOT/dc/run/master.pid")" 2>/dev/null || true
  # process 1 may reap late: wait until the ports are really closed
  for p in $SMTP_PORT $SMTPS_PORT $IMAP_PORT $IMAPS_PORT $LMTP_PORT; do wait_port_down "$p"; done
}

case "${1:-start}" in
  install) install_pkgs ;;
  start) start ;;
  stop) stop ;;
  make-ca) [ -n "${2:-}" ] || die "usage: $0 make-ca DIR"; make_ca "$2" ;;
  *) echo "usage: $0 install|start|stop|make-ca DIR" >&2; exit 2 ;;
esac
