//! Word lists compiled into the library.
//!
//! Two kinds live here:
//! * the fallback lexicon (common Danish first names, surnames and street
//!   names) used when no data directory is configured, and merged into a
//!   loaded lexicon so that names missing from the 2014 statistics are known;
//! * the rule lists (function words, words that are also names, titles,
//!   towns, institution and street suffixes) that decide how much evidence a
//!   capitalised word needs. These are part of the rules, not of the data.

/// Common Danish female first names (fallback lexicon).
pub const FIRST_NAMES_FEMALE: &str = "
Anne Kirsten Hanne Mette Anna Helle Susanne Lene Maria Marianne Lone Camilla Pia Louise Charlotte
Tina Gitte Bente Jette Karen Inge Ida Emma Sofie Julie Mathilde Freja Clara Laura Alma Ella Karla
Josefine Caroline Cecilie Nanna Signe Line Maja Sara Sarah Amalie Rikke Trine Dorthe Birgitte Lise
Heidi Malene Christina Katrine Stine Tanja Anja Lisbeth Vibeke Jytte Grethe Inger Ellen Else Ruth
Birthe Kamilla Lærke Agnes Olivia Nora Astrid Frida Liva Esther Asta Ingrid Vera Lea Sigrid Filippa
Marie Hanna Johanne Kristine Sanne Jeanette Annette Mona Bodil Ulla Eva Ane Benedikte Natasja Nadia
Fatima Leila Amira Aisha Yasmin Zainab Mariam Hiba Noor Samira Aylin Elif Zeynep Hatice Ayse Emine
Agnieszka Katarzyna Olga Irina Svetlana Natalia Oksana Daria Milena Jelena Ana Sofia Isabella Ronja
Anne-Marie Anne-Mette Maj-Britt Lise-Lotte Inge-Lise Karen-Margrethe Tove Solveig Dagmar Edith Gudrun
Ebba Thyra Rigmor Sonja Yvonne Bettina Dorte Merete Winnie Connie Jannie Lotte Pernille Mia Emilie
Rosa Aya Selma Molly Luna Ellie Vilma Isabel Victoria Andrea Naja Rebekka Rebecca Silje Tilde Tilda
";

/// Common Danish male first names (fallback lexicon).
pub const FIRST_NAMES_MALE: &str = "
Peter Jens Lars Michael Henrik Thomas Søren Jan Christian Niels Martin Anders Morten Jesper Mads Hans
Per Ole Rasmus Jørgen Kim Mikkel Klaus Erik Poul Torben Frederik Kasper Steen Carsten Jakob Jacob
Lasse Bent Flemming Kenneth Allan Brian John Preben Bo Johannes Simon Nikolaj Daniel Kristian
Emil William Noah Oscar Oliver Lucas Victor Malthe Alfred Carl Valdemar Magnus Elias August Aksel
Felix Arthur Theo Storm Bjørn Finn Svend Knud Leif Arne Kurt Palle Mogens Tage Viggo Aage Ejnar
Henning Jonas Tobias Mathias Sebastian Alexander Benjamin Philip Julius Anton Marcus Rune Tommy
Mohammad Mohammed Muhammad Ahmed Ali Hassan Hussein Omar Yusuf Ibrahim Mustafa Amir Karim Khalid
Mehmet Emre Murat Hamza Bilal Tariq Abdullahi Abdi Piotr Tomasz Krzysztof Andrzej Pawel Dmitri
Sergei Aleksandr Ivan Nikola Stefan Marko Milan Adam Jonathan Samuel David Isak Villads Sigurd
Hans-Christian Jens-Peter Karl-Erik Poul-Erik Ib Ebbe Esben Gunnar Harald Holger Ivar Jørn Keld
Kristoffer Mogens Nils Ove Otto Rolf Sten Sune Troels Uffe Vagn Verner Werner Asger Bertil Bastian
";

/// Common Danish surnames (fallback lexicon).
pub const SURNAMES: &str = "
Jensen Nielsen Hansen Pedersen Andersen Christensen Larsen Sørensen Rasmussen Jørgensen Petersen
Madsen Kristensen Olsen Thomsen Christiansen Poulsen Johansen Møller Mortensen Knudsen Jakobsen
Jacobsen Mikkelsen Olesen Frederiksen Laursen Henriksen Lund Schmidt Eriksen Holm Kristiansen
Clausen Simonsen Svendsen Andreasen Iversen Jeppesen Mogensen Jespersen Nissen Lauridsen Frandsen
Østergaard Jepsen Kjær Carlsen Vestergaard Jessen Nørgaard Dahl Christoffersen Skov Søndergaard
Bertelsen Bruun Lassen Bach Gregersen Friis Johnsen Steffensen Kjeldsen Bech Krogh Lauritsen Danielsen
Mathiasen Andresen Brandt Winther Toft Ravn Mathiesen Dam Poulsen Thygesen Birk Storm Vang Bro
Nygaard Overgaard Lind Kaas Fischer Berg Koch Mark Hougaard Thorsen Villadsen Bonde Hviid Hald
Ahmed Ali Hussein Mohamed Khan Yilmaz Kaya Demir Nguyen Tran Kowalski Nowak Wisniewski Ibrahim
Abdi Hassan Omar Yusuf Rahman Hosseini Ahmadi Karimi Popescu Ivanova Petrova Horvat Novak
";

/// Common Danish street names (fallback lexicon).
pub const STREETS: &str = "
Vestergade|Østergade|Nørregade|Søndergade|Storegade|Kirkevej|Skolevej|Stationsvej|Parkvej|Skovvej
Møllevej|Engvej|Bakkevej|Havevej|Strandvej|Industrivej|Ringvej|Birkevej|Bøgevej|Egevej|Ahornvej
Lindevej|Granvej|Kastanievej|Rosenvej|Tulipanvej|Violvej|Syrenvej|Vænget|Toften|Banegårdsgade
Jernbanegade|Torvet|Algade|Adelgade|Bredgade|Borgergade|Nygade|Lille Torv|Store Torv|Kongensgade
Dronningensgade|Frederiksgade|Christiansgade|Vesterbrogade|Nørrebrogade|Amagerbrogade|Østerbrogade
Jagtvej|Åboulevard|H.C. Andersens Boulevard|Hans Tausens Gade|Peter Bangs Vej|Ny Østergade
Gammel Kongevej|Falkoner Allé|Frederiksberg Allé|Søvej|Bryggervej|Fabriksvej|Håndværkervej
Skyttevej|Fasanvej|Vibevej|Lærkevej|Svalevej|Mågevej|Drosselvej|Spurvevej|Ørnevej|Duevej
Hybenvej|Kløvervej|Hyldevej|Pilevej|Elmevej|Askevej|Poppelvej|Kirkegade|Markvej|Marken|Enghaven
Skovbrynet|Bakkedraget|Højvangen|Solvænget|Kildevej|Kildebakken|Åvej|Åhavevej|Drewsensvej
Vestre Ringvej|Østre Ringvej|Nordre Ringvej|Søndre Ringvej|Silkeborgvej|Viborgvej|Randersvej
Århusvej|Aarhusvej|Vejlevej|Horsensvej|Herningvej|Skanderborgvej|Grenåvej|Odensevej|Roskildevej
Køgevej|Holbækvej|Næstvedvej|Kongevejen|Hovedgaden|Bygaden|Vestervang|Østervang|Nørrevang
Søndervang|Tværgade|Tværvej|Klostergade|Sankt Knuds Vej|Smedegade|Skomagergade|Slotsgade
";

/// Danish function words and very common words that also appear in the
/// first-name statistics ("Det", "Men", "Han", "Kan"...) or are often
/// capitalised at a sentence start. A capitalised word from this list is
/// never a name on its own.
pub const FUNCTION_WORDS: &str = "
af  alle alt altid anden andet andre at bag bare begge bl blandt blev bliver blive bor både
da dag dags de dem den denne dens der deres derefter derfor derpå derudover dermed desuden
det dette disse dog du efter eftersom egen eget ej eller ellers em en end endda endnu endelig endvidere
er et ethvert fandt fik flere fleste for fordi forhold forleden fra fri frem først første før
ganske gennem gerne gik giver god godt gør gøre har havde have hej hele hen henne her heraf
herefter hermed herudover hos hun hvad hvem hver hvilke hvilken hvis hvor hvordan hvorfor
hvornår i ifølge igen ikke ind indtil inden ingen intet ja jeg jer jo kan kom kommer kunne
kære lang lidt lige ligeledes lille man mange med meget mellem men mens mere mest mig min mine
mit mod måske naturligvis ned nej nemlig netop nogen noget nogle nok nu ny nyt nær næste
næsten når og også om omkring op os over overfor pga på rigtig samme samt sammen selv selvom
senere sig sin sine sit sjældent skal skulle slet som stadig stor store synes så sådan tak
tidligere til tilbage tit under undervejs ud uden udover var ved vi vil ville vore vores været
øvrigt allerede aldrig ofte ofte nogensinde hermed vedrørende vedr iht jf mht bemærk note
opsummering resumé referat notat baggrund vurdering konklusion indstilling afgørelse
bilag emne sag sagen sagsnr dato tid sted deltagere deltager fremmødte afbud mødet møde
borger borgeren barnet barn forældre forælder mor far moderen faderen mother father
kommune kommunen region regionen afdeling afdelingen center centret skole skolen
januar februar marts    juli  september oktober november december
mandag tirsdag onsdag torsdag fredag lørdag søndag i dag igår iforgårs
monday tuesday wednesday thursday friday saturday sunday
hr fru frk dr nr tlf tel mobil mail email adresse cpr postnr by
ad ah  an as  bi  dem des di do ed  em ene es fa fe ha he hi ho  id in is ka ki la le  
lu ma me mi mo mu na ne ni no nu og ok on or pa pe pi po ra re ri ro ru sa se si so su ta te ti
to tu un up va ve vi vo
familie familien familiens plejefamilie plejefamilien anbringelse netværk netværket
sundhedsplejerske sundhedsplejersken skolen psykolog psykologen politi politiet læge lægen
sygehus sygehuset hospital hospitalet børnehave børnehaven vuggestue vuggestuen dagpleje
status statusudtalelse underretning underretningen handleplan handleplanen udtalelse
bekymring bekymringen beslutning beslutningen kontakt kontakten telefon telefonisk
ansøgning ansøgningen hjemmet hjem hjemme dreng drengen pige pigen mand manden kvinde kvinden
ung unge den unge ven veninde venner nabo naboen alder klasse klassen lærer læreren
venlig venligst hilsen med mvh
ring se skriv send husk bemærk vedlagt vedhæftet kontakt læs svar tak velkommen
digital nemid mitid e-boks borger sundhed statsforvaltningen
glad lang gul brun bank blok find done from hope kiss list long odd vase veje west kamp due bue høj
ene just till kure nord sang rise edit max indre jul skat koran eu allah gud jesus bibel
dear madam my kun ting el majestæt majestæts højhed kongelige ulige
fornavn fornavne efternavn efternavne mellemnavn mellemnavne
";

/// Words that are names but also ordinary Danish words or place names
/// ("Storm", "Skov", "Holm"...): a capitalised one needs evidence — another
/// name beside it, a title before it, or the person named in full elsewhere.
pub const NAME_WORDS: &str = "
storm skov holm bech lund vang dam bro mark ask birk bjerg kjær krog lind mose sand sten strand
vind dahl hav sol fisker bonde smed kok præst skytte hjort ravn ulv bjørn hede eng bak bakke dal
rosen lilje blom frost vinter sommer høst sne lykke glad ny bay berg borg brink by dalby ege elm
fjord foss grøn hald haven have hegn holt høj juul kilde kirk klint kvist lunde lyng løvé mørk
nord nørgaard over palm rask ro rose rud rye sejr skjold skou storgaard strøm sund syd søe thy
toft tang vad vest øst winther vinther lau lykke sommer krag kragh bonde frisk hvid sort rød
ravn kok bager fri mod gram guld mai maj april juni august hans
rose horn klit sund vest slot post sol sten toft lyng sand vind hede bille skytte jæger kramer
lykke løkke perle svane vester mester snedker skipper mynte lærke
may june july march park
";

/// Titles and relation words: the capitalised word(s) after one of these are
/// a person's name even when no list knows them ("hr. Oduya", "kontaktperson
/// Zarkhan Amiri").
pub const TITLES: &str = "
hr fru frk frøken dr læge lægen advokat advokaten sagsbehandler sagsbehandleren kontaktperson
kontaktpersonen socialrådgiver socialrådgiveren rådgiver rådgiveren psykolog psykologen pædagog
pædagogen lærer læreren leder lederen plejemor plejefar plejemoren plejefaren mor far moderen
faderen moren faren bror broren søster søsteren halvbror halvsøster storebror lillebror
storesøster lillesøster datter datteren søn sønnen kæreste kæresten ægtefælle ægtefællen
samlever samleveren hustru hustruen ven vennen veninde veninden nabo naboen onkel onklen moster
mosteren faster fasteren morbror farbror bedstemor bedstefar mormor morfar farmor farfar tolk
tolken værge værgen bisidder bisidderen partsrepræsentant partsrepræsentanten borgeren klienten
patienten eleven ansøgeren ansøger sundhedsplejerske sundhedsplejersken støttekontaktperson
mentor mentoren familiebehandler familiebehandleren v/ att c/o kære hej pårørende barnet
drengen pigen fætter kusine svoger svigerinde svigermor svigerfar stedfar stedmor papfar papmor
familien fam kong kongen dronning dronningen prins prinsen prinsesse prinsessen kronprins
kronprinsen kronprinsesse kronprinsessen greve grevinde baron baronesse hertug hertuginde
kejser kejserinde fyrst fyrstinde storhertug storhertuginde lensgreve komtesse enkedronning
pave herr frøken mr mrs ms miss sir lady lord née født
";

/// Danish towns and place words: capitalised, often beside names, never a
/// person on their own.
pub const TOWNS: &str = "
københavn kobenhavn aarhus århus odense aalborg ålborg esbjerg randers kolding horsens vejle roskilde
herning silkeborg hørsholm helsingør næstved fredericia viborg køge holstebro taastrup slagelse
hillerød sønderborg svendborg holbæk hjørring frederikshavn nørresundby ringsted haderslev
skive ølstykke nykøbing birkerød farum smørum kalundborg ikast lyngby greve hedensted
thisted grenaa grenå aabenraa åbenraa middelfart varde skanderborg hobro hadsund frederikssund
nyborg faaborg fåborg assens bogense tønder ribe rønne lemvig struer brønderslev sæby skagen
ringkøbing odder ebeltoft billund grindsted vejen kerteminde korsør sorø maribo nakskov
stege vordingborg præstø faxe haslev tølløse hvidovre rødovre glostrup brøndby albertslund
ishøj vallensbæk dragør tårnby ballerup herlev gladsaxe gentofte frederiksberg charlottenlund
hellerup valby vanløse brønshøj amager nørrebro østerbro vesterbro christianshavn danmark
jylland fyn sjælland bornholm lolland falster møn midtjylland nordjylland syddanmark
hovedstaden europa tyskland sverige norge lund malmø funder tønder denmark danish
malta spanien frankrig italien polen tyrkiet grækenland england skotland irland island finland
holland belgien østrig schweiz portugal kroatien rumænien bulgarien ungarn litauen letland estland
ukraine rusland syrien irak iran afghanistan somalia eritrea thailand kina indien pakistan
grønland færøerne london paris berlin hamborg rom madrid oslo stockholm göteborg bergen
kjellerup gjern them bjerringbro ry galten hammel hinnerup hadsten lystrup trige tilst brabrand
viby højbjerg risskov egå hasle åbyhøj beder malling solbjerg tranbjerg mårslet skødstrup hornslet
rønde kolind ebeltoft auning ørsted allingåbro randers langå hobro mariager arden støvring aars
nibe løgstør farsø vestbjerg vodskov svenstrup storvorde gistrup klarup hals pandrup fjerritslev
hurup vestervig hanstholm snedsted nykøbing mors sallingsund roslev spøttrup skive hvidbjerg
vinderup struer lemvig harboøre thyborøn bøvlingbjerg ulfborg tim ringkøbing hvide sande tarm
skjern videbæk spjald ølgod varde oksbøl blåvand esbjerg bramming ribe gram rødding vojens
christiansfeld haderslev aabenraa padborg kruså gråsten nordborg augustenborg tinglev bylderup
løgumkloster toftlund brørup holsted vejen lunderskov vamdrup kolding fredericia børkop jelling
give brande ikast herning sunds aulum hammerum gjellerup bording engesvang kibæk aars vildbjerg
tørring uldum juelsminde hedensted løsning egtved vejle gedved brædstrup nørre snede silkeborg
skanderborg hørning stilling odder hou gylling assens glamsbjerg vissenbjerg årup bogense otterup
søndersø munkebo kerteminde langeskov ullerslev nyborg ørbæk ringe faaborg kværndrup gudme
svendborg rudkøbing marstal ærøskøbing tranekær holbæk jyderup svinninge tølløse mørkøv
kalundborg høng gørlev slagelse korsør skælskør dianalund sorø ringsted haslev køge herfølge
solrød greve karlslunde jyllinge hundested frederiksværk helsinge gilleleje græsted hornbæk
espergærde humlebæk fredensborg kokkedal nivå rungsted hørsholm allerød lillerød birkerød værløse
farum stenløse ølstykke ballerup måløv smørum skovlunde virum kongens holte nærum søborg bagsværd

";

/// Words that end a name run: institutions and organisations ("Silkeborg
/// Kommune", "Peter Sabroes Skole").
pub const INSTITUTION_WORDS: &str = "
kommune kommunen region regionen skole skolen gymnasium gymnasiet hospital hospitalet sygehus
sygehuset børnehave børnehaven vuggestue vuggestuen klinik klinikken center centret centeret
institut instituttet fond fonden kirke kirken hus huset plads universitet universitetet
ministerium ministeriet styrelse styrelsen afdeling afdelingen forvaltning forvaltningen politi
politiet retten byret byretten landsret landsretten højesteret ankestyrelsen udvalg udvalget
forening foreningen bibliotek biblioteket museum museet apotek apoteket a/s aps i/s
borgerservice jobcenter jobcentret jobcenteret ydelsesservice sygedagpenge handicap hjemmeplejen
visitationen familieafdelingen ppr ssp beskæftigelse integration ældreplejen tandplejen
sundhedsplejen socialforvaltningen skat ivs amba smba a.m.b.a holding gmbh ltd inc llc
revision revisionsfirma transport vvs consult rådgivning entreprise advokatfirma advokatfirmaet
advokater ejendomme ejendomsadministration invest handel import export autoværksted
tømrerfirma malerfirma murerfirma elektriker vognmand vognmandsforretning gruppen group
partners folketinget folketing christiansborg parlament parlamentet europa-parlamentet
bank banken sparekasse sparekassen forsikring boligforening boligforeningen boligselskab
boligselskabet ministeriet rigspolitiet anklagemyndigheden hovedstaden
lægehuset lægerne tandlægerne tandlæge tandlægen advokathuset rådhus rådhuset praksis
speciallægepraksis lægepraksis fysioterapi udbetaling station stadion svømmehal hotel fængsel
kirkegård forsyning kollegiet kollegier kollegium fabrik maskinfabrik bageriet festival
seminarium statsseminarium koncerthus forbund borgerforening folkeparti venstre kor kammerkor
kommunale kommunal regionale tandpleje hospice optiker bedemand cup plejehjem plejehjemmet bosted botilbud
college campus services service erhvervssikring repræsentation repræsentationen fiskeauktion
hjemmesygeplejen socialpsykiatri visitation myndighed ungdomsuddannelse uddannelsesvejledning
co
";

/// Suffixes of Danish street names, for streets missing from the list
/// ("Solsikkevej 4"). Matched at the end of the capitalised word before a
/// house number.
pub const STREET_SUFFIXES: &str = "
vej vejen gade gaden allé alle stræde strædet boulevard plads pladsen torv torvet vænge vænget
parken park haven høj højen bakken bakke toften toft vang vangen løkke løkken lunden kær kæret
marken dalen broen gård gården sti stien kvarter kvarteret engen hegn hegnet skoven stranden
dige diget ager agre krogen bjerget bækken ringen passage passagen promenade promenaden kaj
kajen brygge bryggen møllen tofte toften banke banken vangen have stykket stykke hus husene
linien linjen vejle drev drevet sletten slette bro alléen mose mosen holm holmen eng lund
gatan vägen gata väg veien vei gate gaten straße strasse weg laan straat street road avenue lane
";

/// Splits a whitespace-separated builtin list into lower-case words.
pub fn words(list: &'static str) -> impl Iterator<Item = &'static str> {
    list.split_whitespace()
}
