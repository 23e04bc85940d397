"""What automation plugs into the rest of Vínculo when the app loads: the contact and account
subjects with their triggers. Subscribers (subscribers.py) and periodic jobs (periodic.py) are
discovered by core."""

from vinculo.automation import customer_subjects

customer_subjects.register()
