import pytest

from citypulse.domain.phones import mask_phone
from dashboard_api.present import contains_phone


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+821012345678", "+82******5678"),
        ("+821098760001", "+82******0001"),
        ("+82212345678", "+82*****5678"),
        ("+14155550123", "+14*****0123"),
        ("+1234", "***34"),
        ("bad", "***"),
        ("", "***"),
        ("010-1234-5678", "***78"),  # not E.164: at most two digits, it may be a typo
        ("+82" + "1" * 30, "***11"),  # over E.164's 15 digits
    ],
)
def test_mask_phone(number: str, masked: str) -> None:
    assert mask_phone(number) == masked
    assert not contains_phone(masked)
