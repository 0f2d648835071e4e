"""Acknowledging an alert from the phone: a signed, single-use, expiring link in the SMS
(links.py) and a reply "1" or "확인" through Kannel's incoming-message interface
(replies.py). Both pure; the routes are dashboard_api/api/routes/phone_ack.py and the SQL
alerts/tables/phone_ack.py."""
