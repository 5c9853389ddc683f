"""The FOCUS 1.0 columns the export writes, what fills each, and how FOCUS 1.2 names them.

FOCUS (the FinOps Open Cost and Usage Specification) 1.0 defines 43 columns; the export
writes every one of them, in the order of :data:`FOCUS_COLUMNS`, then the columns of our own,
each with the ``x_`` prefix the specification reserves for provider columns
(:data:`EXTRA_COLUMNS`). Columns with nothing to say are null where the specification allows
it (:data:`NULL_COLUMNS`).

Example:
    >>> len(FOCUS_COLUMNS), FOCUS_COLUMNS[:3]
    (43, ('BilledCost', 'EffectiveCost', 'ListCost'))
    >>> VOLUME_METRICS["TTS"]
    ('characters', 'Characters')
    >>> all(name.startswith("x_") for name in EXTRA_COLUMNS)
    True
"""

from __future__ import annotations

__all__ = [
    "CHARGE_CATEGORY",
    "CHARGE_FREQUENCY",
    "COLUMN_TYPES",
    "CURRENCY",
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_ACCOUNT_NAME",
    "EXTRA_COLUMNS",
    "FOCUS_1_2",
    "FOCUS_COLUMNS",
    "FOCUS_VERSION",
    "NULL_COLUMNS",
    "PRICING_CATEGORY",
    "PROVIDER",
    "SERVICE_CATEGORY",
    "SERVICE_NAME",
    "SKU_PREFIX",
    "VOLUME_METRICS",
]

FOCUS_VERSION = "1.0"
PROVIDER = "Alibaba Cloud"  # ProviderName, PublisherName and InvoiceIssuerName
SERVICE_NAME = "Model Router"
SERVICE_CATEGORY = "AI and Machine Learning"
CURRENCY = "CNY"  # the product bills in CNY
CHARGE_CATEGORY = "Usage"
CHARGE_FREQUENCY = "Usage-Based"
PRICING_CATEGORY = "Standard"  # pay as you go at the published prices; no commitments
DEFAULT_ACCOUNT_ID = "model-router"
DEFAULT_ACCOUNT_NAME = "Alibaba Cloud Model Router"
SKU_PREFIX = "ModelRouter/"  # SkuId and SkuPriceId: ModelRouter/Chat, ModelRouter/TTS, ...

#: Every FOCUS 1.0 column with its type: ``decimal``, ``string``, ``datetime`` or ``json``.
COLUMN_TYPES: dict[str, str] = {
    # cost
    "BilledCost": "decimal",
    "EffectiveCost": "decimal",
    "ListCost": "decimal",
    "ContractedCost": "decimal",
    "ListUnitPrice": "decimal",
    "ContractedUnitPrice": "decimal",
    "BillingCurrency": "string",
    # time
    "ChargePeriodStart": "datetime",
    "ChargePeriodEnd": "datetime",
    "BillingPeriodStart": "datetime",
    "BillingPeriodEnd": "datetime",
    # the charge
    "ChargeCategory": "string",
    "ChargeClass": "string",
    "ChargeDescription": "string",
    "ChargeFrequency": "string",
    "PricingCategory": "string",
    # who
    "ProviderName": "string",
    "PublisherName": "string",
    "InvoiceIssuerName": "string",
    "BillingAccountId": "string",
    "BillingAccountName": "string",
    "SubAccountId": "string",
    "SubAccountName": "string",
    # what
    "ServiceCategory": "string",
    "ServiceName": "string",
    "ResourceId": "string",
    "ResourceName": "string",
    "ResourceType": "string",
    "SkuId": "string",
    "SkuPriceId": "string",
    "RegionId": "string",
    "RegionName": "string",
    "AvailabilityZone": "string",
    # how much
    "ConsumedQuantity": "decimal",
    "ConsumedUnit": "string",
    "PricingQuantity": "decimal",
    "PricingUnit": "string",
    # commitments (none on this service)
    "CommitmentDiscountCategory": "string",
    "CommitmentDiscountId": "string",
    "CommitmentDiscountName": "string",
    "CommitmentDiscountStatus": "string",
    "CommitmentDiscountType": "string",
    # labels
    "Tags": "json",
}
FOCUS_COLUMNS: tuple[str, ...] = tuple(COLUMN_TYPES)

#: FOCUS columns the export leaves null (the specification allows null in each; docs/focus.md
#: says why for every one).
NULL_COLUMNS: tuple[str, ...] = (
    "ListUnitPrice",
    "ContractedUnitPrice",
    "ChargeClass",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "RegionId",
    "RegionName",
    "AvailabilityZone",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
)

#: Our own columns, after the FOCUS ones: name -> type.
EXTRA_COLUMNS: dict[str, str] = {
    "x_ModelType": "string",  # the series' model type; "all" when not split
    "x_ClientId": "string",  # the department id, as SubAccountId; null when not split
    "x_Calls": "decimal",  # total_calls
    "x_Usage": "json",  # every volume metric of the row: {"input_tokens": 1200.0, ...}
    "x_Complete": "bool",  # False: a running or settling bucket that may still change
    "x_Granularity": "string",  # hourly or daily
}

#: The one volume metric of a model type and its FOCUS unit (ConsumedUnit, PricingUnit).
#: Types with several priced volumes (chat: input, output, cached tokens) have none: their
#: ConsumedQuantity is null and x_Usage carries every count.
VOLUME_METRICS: dict[str, tuple[str, str]] = {
    "ImageGeneration": ("image_count", "Images"),
    "ImageEdit": ("image_count", "Images"),
    "VideoGeneration": ("video_duration", "Seconds"),
    "VideoImageGeneration": ("video_duration", "Seconds"),
    "Embedding": ("billing_tokens", "Tokens"),
    "Rerank": ("billing_tokens", "Tokens"),
    "MultimodalEmbedding": ("billing_tokens", "Tokens"),
    "MultimodalRerank": ("billing_tokens", "Tokens"),
    "TTS": ("characters", "Characters"),
    "ASR": ("asr_duration", "Seconds"),
}

#: FOCUS 1.2 against 1.0, for the columns this export concerns: 1.2 renames none of them
#: (1.3 renames ProviderName to ServiceProviderName and adds HostProviderName); it adds these,
#: with the value this export would give.
FOCUS_1_2: dict[str, str] = {
    "BillingAccountType": "null (the service has one kind of account)",
    "SubAccountType": '"Department" when SubAccountId is set, else null',
    "InvoiceId": "null (the trend endpoint knows no invoices)",
    "PricingCurrency": '"CNY" (prices are in the billing currency)',
    "PricingCurrencyContractedUnitPrice": "null, as ContractedUnitPrice",
    "PricingCurrencyEffectiveCost": "EffectiveCost (one currency)",
    "PricingCurrencyListUnitPrice": "null, as ListUnitPrice",
    "ServiceSubcategory": '"Generative AI" (added in 1.1)',
    "CapacityReservationId": "null (added in 1.1)",
    "CapacityReservationStatus": "null (added in 1.1)",
    "CommitmentDiscountQuantity": "null (added in 1.1)",
    "CommitmentDiscountUnit": "null (added in 1.1)",
    "SkuMeter": "null (added in 1.1)",
    "SkuPriceDetails": "null (added in 1.1)",
}
