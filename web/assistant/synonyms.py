"""Topic words that mean the same thing, in French and English, so a request in one
language finds mail written in the other ("factures" finds "Invoice", "mot de passe"
finds "password", "refonte du site" finds "website redesign").

Each group lists folded singular forms; a phrase of several words is matched as a whole.
"""

from __future__ import annotations

_GROUPS_TEXT = """
facture|invoice
reunion|meeting
contrat|contract
dejeuner|lunch
diner|dinner
certificat|certificate
projet|project
devis|quote|quotation|estimate
paiement|payment
commande|order
soldes|sale
photo|picture|photograph
compte rendu|compte-rendu|minutes|minute
equipe|team
planning|schedule
rapport|report
serveur|server
abonnement|subscription
livraison|delivery|shipping
rendez-vous|appointment
mot de passe|password
refonte|redesign
site|website
traduction|translation
lancement|launch
conge|conges|vacances|holiday|vacation
budget|budget
echeance|deadline
offre|offer
entretien|interview
candidat|candidate|applicant
formation|training
medecin|doctor
billet|ticket
reservation|booking
banque|bank
impot|tax
salaire|salary
fiche de paie|bulletin de paie|payslip
securite|security
acces|access
mise a jour|update
sauvegarde|backup
video|recording
brouillon|draft
proposition|proposal
retour|feedback
presentation|slides|deck
fete|party
anniversaire|birthday
voyage|trip|travel
note de frais|expense
remboursement|refund
rappel|reminder
conference|conference
client|customer
fournisseur|supplier|vendor
promo|promotion|discount|reduction
casque|headphones|headset
maquette|mockup
lundi|monday
mardi|tuesday
mercredi|wednesday
jeudi|thursday
vendredi|friday
samedi|saturday
dimanche|sunday
contrat de travail|employment contract
releve|statement
chambre|room
chiffre|figure|number
trimestre|quarter|quarterly|trimestriel
bail|lease
dentiste|dentist|dentaire
"""
GROUPS: tuple[frozenset[str], ...] = tuple(
    frozenset(line.split("|")) for line in _GROUPS_TEXT.strip().splitlines()
)
PHRASES: tuple[str, ...] = tuple(
    sorted({w for group in GROUPS for w in group if " " in w}, key=len, reverse=True)
)
SYNONYMS: dict[str, frozenset[str]] = {}
for _group in GROUPS:
    for _word in _group:
        SYNONYMS[_word] = SYNONYMS.get(_word, frozenset()) | _group
