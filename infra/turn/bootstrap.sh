#!/bin/bash
# The start of an eClinic TURN instance (Ubuntu 24.04 LTS), run once as EC2 user data. Before
# it, infra/eclinic_infra/turn.py exports the ECLINIC_TURN_* settings and AWS_REGION and writes
# eclinic_turn.py and turnserver.conf to /usr/local/lib/eclinic-turn. Its output is in
# /var/log/cloud-init-output.log. Any failure stops it before coturn starts: the instance then
# never passes the balancer's health check, and the Auto Scaling group replaces it.
set -euo pipefail
lib=/usr/local/lib/eclinic-turn

# coturn must not run before it has its configuration and its secrets: keep the package's own
# start back (policy-rc.d), then install.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -q
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends coturn python3-boto3
rm -f /usr/sbin/policy-rc.d

# The private address (IMDSv2): coturn listens and relays on it.
token=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')
address=$(curl -fsS -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/local-ipv4)
python3 "$lib/eclinic_turn.py" configure --address "$address" --output /etc/turnserver.conf

# The secrets: read now (as coturn's user, who owns its database), then every minute.
cat > /etc/eclinic-turn.env <<EOF
AWS_REGION=$AWS_REGION
ECLINIC_TURN_SECRET_ARN=$ECLINIC_TURN_SECRET_ARN
ECLINIC_TURN_REALM=$ECLINIC_TURN_REALM
ECLINIC_TURN_DB=$ECLINIC_TURN_DB
EOF
install -d -o turnserver -g turnserver -m 0750 "$(dirname "$ECLINIC_TURN_DB")"
cat > /etc/systemd/system/eclinic-turn-secrets.service <<EOF
[Unit]
Description=eClinic: coturn's shared secrets from Secrets Manager
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
User=turnserver
Group=turnserver
EnvironmentFile=/etc/eclinic-turn.env
ExecStart=/usr/bin/python3 $lib/eclinic_turn.py sync
EOF
cat > /etc/systemd/system/eclinic-turn-secrets.timer <<EOF
[Unit]
Description=eClinic: re-read the TURN secret every ${ECLINIC_TURN_SYNC_SECONDS} s

[Timer]
OnActiveSec=${ECLINIC_TURN_SYNC_SECONDS}s
OnUnitActiveSec=${ECLINIC_TURN_SYNC_SECONDS}s
AccuracySec=5s

[Install]
WantedBy=timers.target
EOF
systemctl daemon-reload
systemctl start eclinic-turn-secrets.service
systemctl enable --now eclinic-turn-secrets.timer

systemctl enable coturn
systemctl restart coturn
