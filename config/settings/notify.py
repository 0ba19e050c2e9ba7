"""The service's own settings (read through notifications/conf.py, checked there at start) and the providers'."""

from config.settings.env import env

NOTIFY_MAX_ATTEMPTS = env.int("NOTIFY_MAX_ATTEMPTS", default=18)
NOTIFY_RETRY_BACKOFF = env.int("NOTIFY_RETRY_BACKOFF", default=30)
NOTIFY_RETRY_BACKOFF_MAX = env.int("NOTIFY_RETRY_BACKOFF_MAX", default=21600)
NOTIFY_RETRY_AFTER_MAX = env.int("NOTIFY_RETRY_AFTER_MAX", default=3600)
NOTIFY_LEASE_SECONDS = env.int("NOTIFY_LEASE_SECONDS", default=60)
NOTIFY_SWEEP_INTERVAL = env.int("NOTIFY_SWEEP_INTERVAL", default=30)
NOTIFY_SWEEP_GRACE = env.int("NOTIFY_SWEEP_GRACE", default=30)
NOTIFY_SWEEP_BATCH = env.int("NOTIFY_SWEEP_BATCH", default=500)
NOTIFY_DISPATCH_BATCH = env.int("NOTIFY_DISPATCH_BATCH", default=50)
NOTIFY_RETENTION_DAYS = env.int("NOTIFY_RETENTION_DAYS", default=30)
# Circuit breakers (per provider and per webhook host), the cap on sends in flight to one
# webhook host, and send rates per provider: shared by every worker through Redis.
NOTIFY_BREAKER_MIN_CALLS = env.int("NOTIFY_BREAKER_MIN_CALLS", default=20)
NOTIFY_BREAKER_WINDOW = env.float("NOTIFY_BREAKER_WINDOW", default=60.0)
NOTIFY_BREAKER_THRESHOLD = env.float("NOTIFY_BREAKER_THRESHOLD", default=0.5)
NOTIFY_BREAKER_COOLDOWN = env.float("NOTIFY_BREAKER_COOLDOWN", default=30.0)
WEBHOOK_HOST_CONCURRENCY = env.int("WEBHOOK_HOST_CONCURRENCY", default=4)
NOTIFY_RATES = {
    provider: env.str(f"NOTIFY_RATE_{provider}", default="")
    for provider in ("TWILIO", "FCM", "EXPO", "TELEGRAM", "SLACK", "EMAIL")
}
# Most sends per recipient profile and channel (20/h); over it, a send waits. Empty: no cap.
NOTIFY_RECIPIENT_RATE = env.str("NOTIFY_RECIPIENT_RATE", default="")
# How old a missed schedule occurrence may be and still be made (seconds); older ones are skipped.
NOTIFY_SCHEDULE_CATCHUP = env.int("NOTIFY_SCHEDULE_CATCHUP", default=3600)
# An endpoint whose event deliveries have all failed for this long (seconds) is disabled.
NOTIFY_ENDPOINT_DISABLE_AFTER = env.int("NOTIFY_ENDPOINT_DISABLE_AFTER", default=432000)
# The service's public base URL (https://notify.example.com): provider callbacks are built on it.
NOTIFY_PUBLIC_URL = env.str("NOTIFY_PUBLIC_URL", default="")
# Fernet keys for secrets at rest, newest first; empty: one derived from SECRET_KEY.
NOTIFY_ENCRYPTION_KEYS = env.list("NOTIFY_ENCRYPTION_KEYS", default=[])
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)
WEBHOOK_ALLOW_PRIVATE = env.bool("WEBHOOK_ALLOW_PRIVATE", default=False)
WEBHOOK_PROXY = env.str("WEBHOOK_PROXY", default="")
# The API providers (sms, telegram, slack), read by notifier/registry.py and checked there at
# start. A channel whose credentials are empty is not offered; its base URL is the operator's.
PROVIDER_TIMEOUT = env.float("PROVIDER_TIMEOUT", default=10.0)
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM = env.str("TWILIO_FROM", default="")
TWILIO_API_URL = env.str("TWILIO_API_URL", default="https://api.twilio.com")
TELEGRAM_BOT_TOKEN = env.str("TELEGRAM_BOT_TOKEN", default="")
TELEGRAM_API_URL = env.str("TELEGRAM_API_URL", default="https://api.telegram.org")
SLACK_BOT_TOKEN = env.str("SLACK_BOT_TOKEN", default="")
SLACK_API_URL = env.str("SLACK_API_URL", default="https://slack.com/api")
# Push (read by notifier/registry.py, checked there at start). Expo needs no credentials, so the
# push channel is always offered; FCM tokens only when FCM_CREDENTIALS names a service-account
# JSON (its token_uri is where the OAuth token comes from; FCM_PROJECT_ID defaults to its project_id).
FCM_CREDENTIALS = env.str("FCM_CREDENTIALS", default="")
FCM_PROJECT_ID = env.str("FCM_PROJECT_ID", default="")
FCM_API_URL = env.str("FCM_API_URL", default="https://fcm.googleapis.com")
EXPO_API_URL = env.str("EXPO_API_URL", default="https://exp.host")
EXPO_ACCESS_TOKEN = env.str("EXPO_ACCESS_TOKEN", default="")
