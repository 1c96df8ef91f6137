"""Vocabularies ("worlds") for iGSM problems: four layers of categories, each with item names.

A problem uses 2-4 consecutive layers of one world. Item names are unique within a world and no
item name is a plural or possessive form of another, so the step aligner can tell mentions apart.

Example:
    >>> world = WORLDS[0]
    >>> world.layers[2].category, plural("Shelf"), plural("Lobby")
    ('Enclosure', 'Shelves', 'Lobbies')
"""

from __future__ import annotations

from dataclasses import dataclass

#: Plurals the suffix rules below get wrong.
_IRREGULAR = {"Shelf": "Shelves", "Hippo": "Hippos", "Supply": "Supplies", "Library": "Libraries",
              "City": "Cities", "County": "Counties", "Turkey": "Turkeys"}


def plural(name: str) -> str:
    """English plural of a (possibly multi-word) name; only the last word changes.

    Example:
        >>> plural("Glue Stick"), plural("Cereal Box"), plural("Dictionary")
        ('Glue Sticks', 'Cereal Boxes', 'Dictionaries')
    """
    head, _, last = name.rpartition(" ")
    if last in _IRREGULAR:
        word = _IRREGULAR[last]
    elif last.endswith(("s", "x", "z", "ch", "sh")):
        word = last + "es"
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        word = last[:-1] + "ies"
    else:
        word = last + "s"
    return f"{head} {word}" if head else word


@dataclass(frozen=True)
class Layer:
    """One level of a hierarchy: its category name and the item names it can use."""

    category: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class World:
    name: str
    layers: tuple[Layer, ...]


def _w(name: str, *layers: tuple[str, str]) -> World:
    return World(name, tuple(Layer(cat, tuple(s.strip() for s in items.split(","))) for cat, items in layers))


WORLDS: tuple[World, ...] = (
    _w("zoo",
       ("City", "Oakridge City, Maplewood City, Brookfield City, Stonebridge City, Clearwater City, "
                "Fairhaven City, Ashford City, Westbrook City"),
       ("Zoo", "Riverside Zoo, Hilltop Zoo, Sunset Zoo, Lakeshore Zoo, Greenfield Zoo, Harbor Zoo, "
               "Pinecrest Zoo, Meadow Zoo"),
       ("Enclosure", "Savanna Enclosure, Reptile House, Aviary, Monkey Island, Ice Pool, Bear Den, "
                     "Night House, Tropical Dome"),
       ("Animal", "Lion, Zebra, Giraffe, Penguin, Parrot, Tortoise, Gorilla, Flamingo, Koala, Otter, "
                  "Meerkat, Hippo")),
    _w("school",
       ("School", "Riverview High, Oak Hill Elementary, Central Academy, Westfield Prep, "
                  "Maple Grove School, Northgate High, Bayside Academy, Summit Elementary"),
       ("Classroom", "Art Room, Music Room, Science Lab, Computer Lab, Reading Room, Drama Studio, "
                     "Math Room, History Room"),
       ("Backpack", "Canvas Backpack, Leather Backpack, Rolling Backpack, Hiking Backpack, "
                    "Mesh Backpack, Nylon Backpack, Denim Backpack, Sling Backpack"),
       ("Supply", "Pencil, Eraser, Ruler, Notebook, Crayon, Marker, Glue Stick, Calculator, "
                  "Highlighter, Folder")),
    _w("store",
       ("Mall", "Northpoint Mall, Cedar Plaza, Harbor Galleria, Eastgate Center, Willow Mall, "
                "Parkside Plaza, Sunrise Mall, Metro Center"),
       ("Store", "Grocery Store, Toy Store, Book Store, Hardware Store, Pet Shop, Candy Shop, "
                 "Gift Shop, Shoe Store"),
       ("Shelf", "Top Shelf, Corner Shelf, Display Shelf, Glass Shelf, Wire Shelf, Oak Shelf, "
                 "Clearance Shelf, Front Shelf"),
       ("Product", "Apple, Cereal Box, Soup Can, Puzzle, Kite, Candle, Mug, Teapot, Lamp, "
                   "Flashlight")),
    _w("city",
       ("City", "Port Avalon, Silverton, Eastwick, Redmond Bay, Glenwood, Kingsport, Lakeview, "
                "Ironwood"),
       ("District", "Old Town District, Harbor District, Market District, University District, "
                    "Garden District, Riverside District, Financial District, Arts District"),
       ("Building", "Apartment Tower, Glass Tower, Town Hall, Fire Station, Post Office, "
                    "Public Library, Museum, Train Station"),
       ("Room", "Kitchen, Lobby, Bathroom, Storage Room, Meeting Room, Bedroom, Server Room, "
                "Balcony")),
    _w("library",
       ("Library", "Central Library, Elm Street Library, Hillside Library, Lakeside Library, "
                   "Memorial Library, Northside Library, Valley Library, Union Library"),
       ("Section", "Fiction Section, Travel Section, Poetry Section, Art Section, "
                   "Reference Section, Music Section, Science Section, History Section"),
       ("Bookcase", "Oak Bookcase, Tall Bookcase, Metal Bookcase, Corner Bookcase, Glass Cabinet, "
                    "Low Bookcase, Wall Bookcase, Pine Bookcase"),
       ("Book", "Novel, Atlas, Dictionary, Cookbook, Biography, Comic, Encyclopedia, Textbook, "
                "Magazine, Journal")),
    _w("farm",
       ("County", "Green County, Ash County, Willow County, Birch County, Clay County, "
                  "Stone County, Elm County, Fox County"),
       ("Farm", "Sunny Farm, Maple Farm, Golden Acres, Hillcrest Farm, Brookside Farm, "
                "Windmill Farm, Orchard Farm, Meadowlark Farm"),
       ("Shelter", "Red Barn, Tall Barn, North Shed, South Shed, Old Coop, Big Pen, Stone Stable, "
                   "Long Barn"),
       ("Animal", "Cow, Horse, Goat, Chicken, Duck, Pig, Rabbit, Turkey, Donkey, Llama")),
)

WORLD_NAMES = tuple(w.name for w in WORLDS)
