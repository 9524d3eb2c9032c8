"""The German and English labels of the schema's enums, for clients to show."""

import strawberry

import models
import schema.enums  # noqa: F401  (registers the models' enums with strawberry)


@strawberry.type(description="The labels of one value of an enum.")
class EnumValueLabels:
    value: str = strawberry.field(
        description="The value as GraphQL names it, e.g. `CIVIL_SOCIETY`."
    )
    label_de: str = strawberry.field(description="German label, e.g. `Zivilgesellschaft`.")
    label_en: str = strawberry.field(description="English label, e.g. `Civil society`.")


@strawberry.type(description="An enum of the schema with the labels of its values.")
class EnumLabels:
    name: str = strawberry.field(description="The enum's GraphQL name, e.g. `SectorCode`.")
    values: list[EnumValueLabels] = strawberry.field(
        description="Its values, in the schema's order."
    )


def labels_of(enum_class: type[models.LabelledEnum]) -> EnumLabels:
    """The labels of a registered enum's values, under their GraphQL names."""
    definition = enum_class.__strawberry_definition__  # type: ignore[attr-defined]
    return EnumLabels(
        name=definition.name,
        values=[
            EnumValueLabels(
                value=value.name,
                label_de=enum_class[value.name].label_de,
                label_en=enum_class[value.name].label_en,
            )
            for value in definition.values
        ],
    )


@strawberry.type(description="Labels for clients.")
class LabelsQuery:
    @strawberry.field(
        description="Every labelled enum of the schema (sectors, statuses, kinds, contribution "
        "types, ...) with the German and English labels of its values, by enum name."
    )
    def enum_labels(self) -> list[EnumLabels]:
        # Registered enums only: the models' other labelled enums are not in the schema yet.
        registered = [
            enum_class
            for enum_class in models.LabelledEnum.__subclasses__()
            if hasattr(enum_class, "__strawberry_definition__")
        ]
        return sorted(map(labels_of, registered), key=lambda labels: labels.name)
