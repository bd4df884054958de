"""Generator of the common-password list shipped as ``credline/data/common-passwords.txt``.

Written from public knowledge, not downloaded: the passwords that top every published
breach ranking, the factory defaults of routers and cameras (the Mirai botnet's list was
exactly these), and the patterns people build on them (a word plus a year, a few digits or
a symbol; digit strings a person would type). Regenerate with
``python -m credline.qa.commonlist > src/credline/data/common-passwords.txt``; a test checks
that the shipped file is this module's output.
"""

from __future__ import annotations

import sys

TOP = """
123456 password 12345678 qwerty 123456789 12345 1234 111111 1234567 dragon 123123 baseball
abc123 football monkey letmein 696969 shadow master 666666 qwertyuiop 123321 mustang
1234567890 michael 654321 superman 1qaz2wsx 7777777 121212 000000 qazwsx 123qwe killer
trustno1 jordan jennifer zxcvbnm asdfgh hunter buster soccer harley batman andrew tigger
sunshine iloveyou 2000 charlie robert thomas hockey ranger daniel starwars klaster 112233
george computer michelle jessica pepper 1111 zxcvbn 555555 11111111 131313 freedom 777777
pass maggie 159753 aaaaaa ginger princess joshua cheese amanda summer love ashley nicole
chelsea biteme matthew access yankees 987654321 dallas austin thunder taylor matrix
william corvette hello martin heather secret merlin diamond 1234qwer gfhjkm hammer silver
222222 88888888 anthony justin test bailey q1w2e3r4t5 patrick internet scooter orange 11111
golfer cookie richard samantha bigdog guitar jackson whatever mickey chicken sparky snoopy
maverick phoenix camaro peanut morgan welcome falcon cowboy ferrari samsung andrea smokey
steelers joseph mercedes dakota arsenal eagles melissa boomer booboo spider nascar monster
tigers yellow xxxxxx 123123123 gateway marina diablo bulldog qwer1234 compaq purple hardcore
banana junior hannah 123654 porsche lakers iceman money cowboys 987654 london tennis 999999
ncc1701 coffee scooby 0000 miller boston q1w2e3r4 brandon yamaha chester mother forever
johnny edward 333333 oliver redsox player nikita knight fender barney midnight please brandy
chicago badboy slayer rangers charles angel flower rabbit wizard bigdick jasper enter rachel
chris steven winner adidas victoria natasha 1q2w3e4r jasmine winter prince panties marine
ghbdtn fishing cocacola casper james 232323 raiders 888888 marlboro gandalf asdfasdf crystal
87654321 12344321 golden 8675309 blowme 123abc sexy 7654321 password1 password123 passw0rd
p@ssw0rd p@ssword pa55word qwerty123 qwerty1 1q2w3e 1q2w3e4r5t 1qazxsw2 zaq12wsx zaq1zaq1
abcd1234 abcdef abcdefg abcdefgh a1b2c3 a1b2c3d4 aa123456 123456a 123456aa asd123 qwe123
123qweasd qweasdzxc asdf1234 asdfghjkl qazwsxedc 1q2w3e4r5t6y 147258369 147258 159357
741852963 963852741 789456123 456789 123654789 s3cr3t letmein1 welcome1 welcome123 admin
admin1 admin123 admin1234 administrator root toor user guest default changeme changeit
support service system manager operator supervisor sysadmin superuser tech technician
login master123 test123 testing demo public private secret123 nopassword blank none
"""

# Factory defaults of routers, cameras and DVRs (as published in vendors' manuals and in the
# credential list of the 2016 Mirai botnet).
DEFAULTS = """
admin1234 1234 12345 54321 888888 666666 7ujmko0admin 7ujmko0vizxv vizxv xc3511 xmhdipc
juantech klv123 klv1234 zte521 hi3518 jvbzd anko realtek smcadmin ikwb dreambox meinsm fucker
ubnt raspberry pi alpine openelec libreelec calvin motorola cisco router netgear linksys dlink
tplink private password1234 instar hikvision dahua 4321 1111111 12341234 wlan wireless network
internet modem gateway setup config camera webcam ipcam dvr nvr
"""

WORDS = """
password passwort motdepasse contrasena senha parola wachtwoord haslo salasana admin root user
guest login welcome letmein qwerty abc iloveyou love monkey dragon master shadow sunshine
princess football baseball soccer hockey summer winter spring autumn michael jordan jennifer
thomas daniel charlie jessica ashley amanda secret hello freedom whatever trustno1 starwars
superman batman pokemon minecraft google apple samsung microsoft computer internet wifi router
camera default changeme test office company family
"""

SUFFIXES = ([""] + [str(d) for d in range(10)] + [f"{d:02d}" for d in range(100)]
            + ["123", "1234", "12345", "123456", "321", "111", "000", "007", "69", "!",
               "1!", "123!", "@123", "#1", "!!", "?"]
            + [str(year) for year in range(1950, 2031)])


def digit_patterns() -> set[str]:
    """Digit strings people choose: runs, repeats, pairs, counting up and down."""
    out: set[str] = set()
    for length in range(4, 17):
        for d in "0123456789":
            out.add(d * length)
        up = "".join(str(i % 10) for i in range(1, length + 1))
        down = "".join(str(i % 10) for i in range(length, 0, -1))
        out |= {up, down, up[::-1], "0" + up[:-1]}
    for a in "0123456789":
        for b in "0123456789":
            for times in range(2, 9):
                out.add((a + b) * times)
    for number in range(1, 1000):
        text = str(number)
        for times in range(2, 5):
            if 4 <= len(text) * times <= 16:
                out.add(text * times)
    return out


def generate() -> list[str]:
    words = set(TOP.split()) | set(DEFAULTS.split())
    for word in WORDS.split():
        for variant in {word, word.capitalize()}:
            for suffix in SUFFIXES:
                words.add(variant + suffix)
    words |= digit_patterns()
    return sorted(words)


def main() -> None:
    sys.stdout.write("# credline common-password list: generated by credline.qa.commonlist\n")
    sys.stdout.write("# from public knowledge (breach rankings, factory defaults, patterns);\n")
    sys.stdout.write("# compared case-insensitively against whole passwords.\n")
    sys.stdout.write("".join(f"{word}\n" for word in generate()))


if __name__ == "__main__":
    main()
